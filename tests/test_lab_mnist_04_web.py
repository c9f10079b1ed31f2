"""The recognizer's web page (--web): its JSON API, its server as a real process, and the page in a real browser."""
import concurrent.futures
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image, ImageDraw

from common import data
from labtools import REPO_ROOT, headless_env, load_lab, needs_the_trained_model, run_in_process, same_worker

LAB = "labs/mnist/_04_draw_a_digit.py"
lab = load_lab(LAB)
web, recipe = lab.web, lab.recipe
page_tool = load_lab("tools/web_page_screenshot.py")
# These tests share a server with the CNN lab's smoke model (fixture smoke_model), in one test process
# of their own, so that the other recognizer tests can run beside them.
uses_the_smoke_model = same_worker("recognizer web page")


def png_of(picture) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def drawn(*strokes, size=280, width=17) -> bytes:
    """A PNG of strokes (lists of (x, y) in fractions of the sheet) drawn dark on white, as the page sends."""
    sheet = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(sheet)
    for stroke in strokes:
        pen.line([(x * size, y * size) for x, y in stroke], fill=0, width=width, joint="curve")
    return png_of(sheet)


def mnist_png(image) -> bytes:
    return png_of(Image.fromarray(np.asarray(image, dtype=np.uint8), mode="L"))


def post(address, body: bytes, path="api/recognize", method="POST", headers=None):
    """(status, decoded JSON) of one request; error statuses are answers too."""
    request = urllib.request.Request(address + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def recognizer_for(model_path):
    import keras

    return lab.recognizer(keras.models.load_model(model_path))


def started(recognize):
    server = web.start(recognize, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server, web.address_of(server)


@pytest.fixture
def smoke_server(smoke_model):
    recognize = recognizer_for(smoke_model)
    server, address = started(recognize)
    yield address, recognize
    server.shutdown()
    server.server_close()


ONE = [[(0.5, 0.15), (0.5, 0.85)]]
SEVEN = [[(0.3, 0.2), (0.7, 0.2)], [(0.7, 0.2), (0.45, 0.85)]]


@uses_the_smoke_model
def test_the_page_and_only_its_files_are_served(smoke_server):
    address, _ = smoke_server
    for path, kind in (("", "text/html"), ("index.html?lang=en", "text/html"), ("page.js", "text/javascript"),
                       ("page.css", "text/css")):
        with urllib.request.urlopen(address + path, timeout=30) as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith(kind), path
            body = response.read()
        assert body == (web.PAGE_DIR / (path.split("?")[0] or "index.html")).read_bytes()
    page = (web.PAGE_DIR / "index.html").read_text(encoding="utf-8")
    # Nothing from the internet: no CDN, no web fonts; the script and style sheet are the lab's own.
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert not re.search(r"https?://", (web.PAGE_DIR / "page.js").read_text(encoding="utf-8"))
    for path in ("../web.py", "page/../web.py", "%2e%2e/web.py", "..%2fweb.py", "labs/mnist/_04_draw_a_digit.py",
                 "//etc/passwd", "recipe.py"):
        connection = socket.create_connection(("127.0.0.1", int(address.rsplit(":", 1)[1].strip("/"))), timeout=30)
        connection.sendall(f"GET /{path} HTTP/1.0\r\n\r\n".encode())
        reply = b"".join(iter(lambda: connection.recv(65536), b""))
        connection.close()
        assert reply.startswith(b"HTTP/1.0 404"), (path, reply[:60])
        assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"].startswith("There is nothing at")


@uses_the_smoke_model
def test_the_api_reads_a_drawn_one_and_seven(smoke_server):
    address, recognize = smoke_server
    for strokes, expected in ((ONE, 1), (SEVEN, 7)):
        status, answer = post(address, drawn(*strokes), headers={"Content-Type": "image/png"})
        assert status == 200, answer
        assert set(answer) == {"digit", "probabilities", "image28"}
        assert answer["digit"] == expected
        probabilities = np.array(answer["probabilities"])
        assert probabilities.shape == (10,) and abs(probabilities.sum() - 1) < 1e-4
        assert answer["digit"] == int(np.argmax(probabilities))
        seen = np.array(answer["image28"])
        assert seen.shape == (28, 28) and seen.min() >= 0 and seen.max() <= 1
        # The same recipe and model as the window and --image: the same numbers.
        expected_seen, expected_probabilities = recognize(recipe.decode_grey(drawn(*strokes)))
        np.testing.assert_allclose(seen, expected_seen, atol=1e-4)
        np.testing.assert_allclose(probabilities, expected_probabilities, atol=1e-5)


def _truncated() -> bytes:
    whole = drawn(*SEVEN)
    return whole[:len(whole) // 2]


BAD_REQUESTS = [
    # (what, method, path, body, status, words in the error)
    ("an empty body", "POST", "api/recognize", b"", 400, "empty"),
    ("a body that is not an image", "POST", "api/recognize", b"digit: 7", 400, "not an image"),
    ("a truncated image", "POST", "api/recognize", _truncated(), 400, "damaged or cut short"),
    ("a blank drawing", "POST", "api/recognize", png_of(Image.new("L", (280, 280), 255)), 400, "blank"),
    ("a body over 2 MB", "POST", "api/recognize", b"\x89PNG" + bytes(2 * 1024 * 1024), 413, "limit"),
    ("GET on the API", "GET", "api/recognize", None, 405, "POST"),
    ("PUT on the API", "PUT", "api/recognize", b"x", 405, "POST"),
    ("POST to the page", "POST", "", b"x", 405, "GET"),
    ("an unknown path", "GET", "api/other", None, 404, "nothing at"),
    ("POST to an unknown path", "POST", "upload", b"x", 404, "nothing at"),
]


@uses_the_smoke_model
@pytest.mark.parametrize("what, method, path, body, status, words", BAD_REQUESTS, ids=[r[0] for r in BAD_REQUESTS])
def test_a_bad_request_gets_its_status_and_one_sentence(smoke_server, what, method, path, body, status, words):
    address, _ = smoke_server
    got, answer = post(address, body, path=path, method=method)
    assert got == status, answer
    assert list(answer) == ["error"] and words in answer["error"]
    assert "\n" not in answer["error"] and "Traceback" not in answer["error"]
    assert answer["error"].endswith(".") and answer["error"].count(". ") == 0, answer["error"]
    # And the server goes on serving.
    assert post(address, drawn(*ONE))[1]["digit"] == 1


def test_a_fault_in_the_server_is_a_500_with_one_sentence_and_serving_goes_on(capsys):
    calls = []

    def recognize(image):
        calls.append(image.shape)
        if len(calls) == 1:
            raise RuntimeError("out of memory")
        return np.zeros((28, 28)), np.eye(10)[3]

    server, address = started(recognize)
    try:
        status, answer = post(address, drawn(*ONE))
        assert status == 500 and answer == {"error": "The server failed to recognize this drawing; "
                                                     "its console says why."}
        assert post(address, drawn(*ONE))[1]["digit"] == 3
    finally:
        server.shutdown()
        server.server_close()
    assert "RuntimeError while recognizing: out of memory" in capsys.readouterr().err


@uses_the_smoke_model
def test_twenty_requests_at_once_are_each_answered_right(smoke_server):
    address, recognize = smoke_server
    (_, _), (images, _) = data.load_mnist()
    bodies = [mnist_png(image) for image in images[:20]]
    start = threading.Barrier(20)

    def ask(body):
        start.wait(timeout=60)
        return post(address, body)

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(ask, bodies))
    for body, (status, answer) in zip(bodies, answers):
        assert status == 200
        _, probabilities = recognize(recipe.decode_grey(body))
        assert answer["digit"] == int(np.argmax(probabilities))


@uses_the_smoke_model
def test_a_slow_client_does_not_hold_up_the_others(smoke_server):
    address, _ = smoke_server
    port = int(address.rsplit(":", 1)[1].strip("/"))
    stalled = socket.create_connection(("127.0.0.1", port), timeout=30)
    stalled.sendall(b"POST /api/recognize HTTP/1.1\r\nContent-Length: 5000\r\n\r\n" + b"\x89PNG")  # ... and stops.
    try:
        began = time.monotonic()
        assert post(address, drawn(*SEVEN))[1]["digit"] == 7
        assert time.monotonic() - began < 10
    finally:
        stalled.close()


@needs_the_trained_model
def test_mnist_test_digits_sent_as_png_are_read_right(trained_model):
    recognize = recognizer_for(trained_model)
    server, address = started(recognize)
    try:
        (_, _), (images, labels) = data.load_mnist()
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda image: post(address, mnist_png(image)), images[:200]))
    finally:
        server.shutdown()
        server.server_close()
    digits = np.array([answer["digit"] for _, answer in answers])
    assert all(status == 200 for status, _ in answers)
    assert (digits == labels[:200]).mean() >= 0.98


# --- The lab as a program ------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@uses_the_smoke_model
def test_the_lab_serves_until_ctrl_c_and_warns_when_open_to_the_network(smoke_model, tmp_path):
    # A real process and a real signal. Listening on every address (--host 0.0.0.0) comes with a warning.
    if sys.platform.startswith("win"):
        pytest.skip("sends SIGINT, which Windows delivers differently")
    port = _free_port()
    process = subprocess.Popen([sys.executable, str(REPO_ROOT / LAB), "--web", "--host", "0.0.0.0", "--port", str(port),
                                "--no-browser", "--model", str(smoke_model), "--out", str(tmp_path)],
                               cwd=tmp_path, env=headless_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Serving on http://"):
                break
        assert lines[-1].startswith(f"Serving on http://0.0.0.0:{port}/ (Ctrl-C stops it)"), "".join(lines)
        assert post(f"http://127.0.0.1:{port}/", drawn(*ONE))[1]["digit"] == 1
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Stopped." in out and "Traceback" not in err
    assert re.search(r"^Warning: listening on 0\.0\.0\.0, so anyone who can reach this computer on port "
                     rf"{port} can use the recognizer\.$", err, re.M), err


@uses_the_smoke_model
def test_a_port_in_use_a_bad_port_and_web_with_image_get_one_line(smoke_model, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = run_in_process(LAB, tmp_path, "--web", "--port", str(port), "--no-browser", "--model", str(smoke_model))
    assert run.returncode == 2
    assert f"port {port} is already in use" in run.stderr and "--port 0" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    for argv, words in ((["--web", "--port", "70000"], "not a port number"),
                        (["--web", "--image", str(tmp_path)], "use one of them")):
        run = run_in_process(LAB, tmp_path, *argv, "--model", str(smoke_model))
        assert run.returncode == 2 and words in run.stderr, run.stderr
        assert "Traceback" not in run.stderr


@uses_the_smoke_model
def test_the_smoke_run_serves_and_checks_itself(lab_run, smoke_model):
    run = lab_run(LAB, "--web", "--smoke", "--port", "0", "--model", str(smoke_model))
    assert run.returncode == 0, run.stderr
    assert re.search(r"^Serving on http://127\.0\.0\.1:\d+/", run.stdout, re.M)
    assert run.result["web"]["page_ok"] and run.result["web"]["answer"]["digit"] in range(10)


# --- A real browser ---------------------------------------------------------------------------------

BROWSER, NO_BROWSER = page_tool.browser_and_driver()
needs_a_browser = pytest.mark.skipif(BROWSER is None and not os.environ.get("LAB_EXPECT_BROWSER"),
                                     reason=NO_BROWSER or "")


@needs_a_browser
@uses_the_smoke_model
def test_a_digit_drawn_in_chromium_is_read_and_shown(smoke_server, tmp_path):
    address, _ = smoke_server
    with page_tool.chromium() as browser:
        browser.get(address)
        assert browser.find_element("id", "recognize").text == "Recognize"
        page_tool.draw(browser, page_tool.ONE, pointer="pen")         # read when the pen lifts
        assert page_tool.answer(browser) == 1
        assert browser.find_element("id", "digit").text == "1"
        # What the network saw is on the page, and the best bar is the answer's.
        ink = browser.execute_script("const c = document.getElementById('seen').getContext('2d');"
                                     "return Array.from(c.getImageData(0, 0, 28, 28).data).reduce((a, b) => a + b, 0);")
        assert ink > 28 * 28 * 255          # More than the opaque black alone.
        best = browser.find_element("css selector", "#bars li.best .label").text
        assert best == "1"

        browser.find_element("id", "clear").click()
        assert browser.find_element("id", "digit").text == "–"
        page_tool.draw(browser, page_tool.SEVEN, pointer="mouse")
        browser.find_element("id", "recognize").click()
        assert page_tool.answer(browser) == 7
        browser.save_screenshot(str(tmp_path / "page.png"))
    assert Image.open(tmp_path / "page.png").size[0] > 0


@needs_a_browser
@uses_the_smoke_model
def test_the_page_speaks_chinese_to_a_chinese_browser(smoke_server):
    address, _ = smoke_server
    with page_tool.chromium(language="zh-CN") as browser:
        browser.get(address)
        assert browser.find_element("id", "recognize").text == "识别"
        assert browser.find_element("id", "clear").text == "清除"
        browser.find_element("id", "recognize").click()              # nothing drawn yet
        assert browser.find_element("id", "message").text == "请先写一个数字。"

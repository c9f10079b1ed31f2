"""Draw a digit on the recognizer's web page in headless Chromium, and save a screenshot of the answer.

    python tools/web_page_screenshot.py            # resources/draw_a_digit_web_page.png
    python tools/web_page_screenshot.py --out page.png --model outputs/mnist/_02_cnn/mnist_cnn.keras

It serves the page as ``python labs/mnist/_04_draw_a_digit.py --web`` does,
with the CNN that labs/mnist/_02_cnn.py trained, opens it in Chromium (Debian:
``apt install chromium chromium-driver``) through Selenium, draws a 7 with
pointer events as a pen would, and waits for the answer. The tests drive the
page with the same functions.
"""
import argparse
import contextlib
import shutil
import sys
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = REPO_ROOT / "resources" / "draw_a_digit_web_page.png"
WINDOW = (800, 680)
# Strokes as lists of (x, y) in fractions of the canvas, y downwards, as a hand would draw them.
ONE = [[(0.52, 0.15), (0.50, 0.50), (0.48, 0.85)]]
SEVEN = [[(0.28, 0.22), (0.50, 0.21), (0.72, 0.20)], [(0.72, 0.20), (0.60, 0.52), (0.46, 0.86)]]


def browser_and_driver():
    """The paths of Chromium and its driver, or (None, reason) where they are not installed."""
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        return None, ("no Chromium and chromedriver on this machine (Debian: apt install chromium "
                      "chromium-driver)")
    return (browser, driver), None


@contextlib.contextmanager
def chromium(language: str = "en-US", window=WINDOW):
    """A headless Chromium controlled by Selenium, its pages in ``language``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found, reason = browser_and_driver()
    if found is None:
        raise RuntimeError(reason)
    browser, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={window[0]},{window[1]}", f"--lang={language}", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def draw(driver, strokes, pointer: str = "pen") -> None:
    """Draw ``strokes`` on the page's canvas with a pointer of this kind ("mouse", "pen" or "touch")."""
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput
    from selenium.webdriver.common.by import By

    canvas = driver.find_element(By.ID, "pad")
    width, height = canvas.size["width"], canvas.size["height"]
    kind = {"mouse": interaction.POINTER_MOUSE, "pen": interaction.POINTER_PEN,
            "touch": interaction.POINTER_TOUCH}[pointer]
    for stroke in strokes:
        actions = ActionBuilder(driver, mouse=PointerInput(kind, pointer), duration=15)   # ms per move
        points = [(round((x - 0.5) * width), round((y - 0.5) * height)) for x, y in stroke]
        # From the canvas's centre, as WebDriver measures; extra points in between, as a hand moves.
        actions.pointer_action.move_to(canvas, *points[0]).pointer_down()
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            for step in range(1, 9):
                actions.pointer_action.move_to(canvas, round(x0 + (x1 - x0) * step / 8),
                                               round(y0 + (y1 - y0) * step / 8))
        actions.pointer_action.pointer_up()
        actions.perform()


def answer(driver, timeout: float = 30):
    """The digit the page shows once the server has answered its latest drawing, or None if it could not."""
    from selenium.webdriver.support.ui import WebDriverWait

    state = WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("const s = document.body.dataset.state; "
                                   "return s === 'answered' || s === 'failed' ? s : null"))
    return int(driver.execute_script("return document.body.dataset.answer")) if state == "answered" else None


@contextlib.contextmanager
def serving(model_path):
    """The lab's web server on a free port, with this model, in a thread; yields its address."""
    sys.path.insert(0, str(REPO_ROOT))
    from common import paths

    lab = paths.load_lab("labs/mnist/_04_draw_a_digit.py")
    import keras

    server = lab.web.start(lab.recognizer(keras.models.load_model(model_path)), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield lab.web.address_of(server)
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=SCREENSHOT, help="where to save the screenshot")
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "outputs" / "mnist" / "_02_cnn" / "mnist_cnn.keras",
                        help="the trained MNIST CNN (default: where labs/mnist/_02_cnn.py saves it)")
    options = parser.parse_args()
    if not options.model.is_file():
        sys.exit(f"no model at {options.model}: train it with python labs/mnist/_02_cnn.py")
    if browser_and_driver()[0] is None:
        sys.exit(browser_and_driver()[1])
    with serving(options.model) as address, chromium() as driver:
        driver.get(address)
        draw(driver, SEVEN)
        digit = answer(driver)
        options.out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(options.out))
    print(f"Drew a 7, the page read {digit}; screenshot saved: {options.out}")


if __name__ == "__main__":
    main()

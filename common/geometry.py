"""Distances between points and a straight decision line, to compare where lines sit."""
import numpy as np


def distances_to_line(weights, points) -> np.ndarray:
    """Distance of each 2-D point to the line ``w0 + w1*x1 + w2*x2 = 0``."""
    w0, w1, w2 = np.asarray(weights, dtype=float).reshape(-1)[:3]
    points = np.asarray(points, dtype=float)
    return np.abs(w0 + points @ np.array([w1, w2])) / np.hypot(w1, w2)


def class_margins(weights, points, targets) -> tuple:
    """(distance to the nearest +1 point, distance to the nearest -1 point).

    A line that sits evenly between two classes has the two margins equal.
    """
    distances = distances_to_line(weights, points)
    targets = np.asarray(targets).reshape(-1)
    return float(distances[targets > 0].min()), float(distances[targets <= 0].min())


def describe_margins(margins) -> str:
    """One printed line comparing the two margins."""
    positive, negative = margins
    return (f"distance from the line to the nearest +1 point: {positive:.4f}, "
            f"to the nearest -1 point: {negative:.4f}")

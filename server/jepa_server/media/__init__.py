"""Video input: decoding with PyAV, frame sampling, windowing and pixel preprocessing."""

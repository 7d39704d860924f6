"""Reference solutions: real TensorFlow/Keras code that computes every expected value.

Imported only by graders.reference_worker (a child process), never by the web
server. Functions here are pure and deterministic: same keyword arguments,
same value.
"""

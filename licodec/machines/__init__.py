"""Machines that consume images instead of people: an OCR system and a face detector.

Both come from registry packages with their weights inside (the ``machines`` extra):
PP-OCRv4 through ``rapidocr-onnxruntime``, dlib's MMOD face detector and 5-point landmark
model through ``dlib-bin`` and ``face-recognition-models``. The rest of licodec works
without them; using one without the extra is a one-line error naming the install command.
"""

"""Reference OCR inference server: DB detection + batched CRNN recognition on Paddle Inference."""

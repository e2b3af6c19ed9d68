"""Export stage: trained JEPA checkpoints -> verified ONNX -> a Triton model repository."""

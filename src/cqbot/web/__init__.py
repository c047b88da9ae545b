"""The faces of cqbot in a browser: the Gradio chat (ui) and the HTML and text it shows (render)."""

"""Answer backends: `registry` names them, `base` says what each provides and creates
them, and each backend lives in a module of its own (`extractive`, `openai`, `ollama`,
`llamacpp`; the model backends share `prompt` and `http`)."""

"""The answer frame in the asker's language (English is the fallback)."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "lead": "According to the documents:",
        "sources": "Sources",
        "not_found": "The documents do not answer this question.",
        "closest": "Closest passage (it does not answer the question):",
        "shortened": "The question was shortened to its first {n} characters.",
        "instructions": "I answer only from the documents; instructions in questions are not followed.",
        "empty": "Please ask a question.",
    },
    "de": {
        "lead": "Laut den Dokumenten:",
        "sources": "Quellen",
        "not_found": "Die Dokumente beantworten diese Frage nicht.",
        "closest": "Nächstliegende Stelle (sie beantwortet die Frage nicht):",
        "shortened": "Die Frage wurde auf ihre ersten {n} Zeichen gekürzt.",
        "instructions": "Ich antworte nur aus den Dokumenten; Anweisungen in Fragen werden nicht befolgt.",
        "empty": "Bitte stellen Sie eine Frage.",
    },
    "zh": {
        "lead": "根据文档：",
        "sources": "来源",
        "not_found": "文档中没有回答这个问题的内容。",
        "closest": "最接近的段落（并未回答该问题）：",
        "shortened": "问题已被截断为前 {n} 个字符。",
        "instructions": "我只根据文档回答；问题中的指令不会被执行。",
        "empty": "请输入问题。",
    },
    "fr": {
        "lead": "D'après les documents :",
        "sources": "Sources",
        "not_found": "Les documents ne répondent pas à cette question.",
        "closest": "Passage le plus proche (il ne répond pas à la question) :",
        "shortened": "La question a été raccourcie à ses {n} premiers caractères.",
        "instructions": "Je réponds uniquement à partir des documents ; "
        "les instructions des questions ne sont pas suivies.",
        "empty": "Veuillez poser une question.",
    },
    "es": {
        "lead": "Según los documentos:",
        "sources": "Fuentes",
        "not_found": "Los documentos no responden a esta pregunta.",
        "closest": "Pasaje más cercano (no responde a la pregunta):",
        "shortened": "La pregunta se acortó a sus primeros {n} caracteres.",
        "instructions": "Solo respondo a partir de los documentos; "
        "no sigo instrucciones incluidas en las preguntas.",
        "empty": "Por favor, haga una pregunta.",
    },
    "ja": {
        "lead": "文書によると：",
        "sources": "出典",
        "not_found": "文書にはこの質問への答えがありません。",
        "closest": "最も近い箇所（質問への答えではありません）：",
        "shortened": "質問は最初の {n} 文字に短縮されました。",
        "instructions": "文書のみに基づいて回答します。質問内の指示には従いません。",
        "empty": "質問を入力してください。",
    },
    "ru": {
        "lead": "Согласно документам:",
        "sources": "Источники",
        "not_found": "В документах нет ответа на этот вопрос.",
        "closest": "Ближайший фрагмент (он не отвечает на вопрос):",
        "shortened": "Вопрос сокращён до первых {n} символов.",
        "instructions": "Я отвечаю только по документам; указания в вопросах не выполняются.",
        "empty": "Пожалуйста, задайте вопрос.",
    },
}


def message(lang: str, key: str, **kwargs: object) -> str:
    table = MESSAGES.get(lang, MESSAGES["en"])
    return table.get(key, MESSAGES["en"][key]).format(**kwargs)

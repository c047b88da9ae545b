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
        # generated answers (llm.py)
        "llm_failed": "The language model did not answer, so the passages are quoted instead.",
        "llm_unchecked": "The generated answer could not be checked against the documents, "
        "so the passages are quoted instead.",
        "llm_flagged": "Some statements are not supported by the passages;"
        " their source markers were removed.",
    },
    "de": {
        "lead": "Laut den Dokumenten:",
        "sources": "Quellen",
        "not_found": "Die Dokumente beantworten diese Frage nicht.",
        "closest": "Nächstliegende Stelle (sie beantwortet die Frage nicht):",
        "shortened": "Die Frage wurde auf ihre ersten {n} Zeichen gekürzt.",
        "instructions": "Ich antworte nur aus den Dokumenten; Anweisungen in Fragen werden nicht befolgt.",
        "empty": "Bitte stellen Sie eine Frage.",
        # generated answers (llm.py)
        "llm_failed": "Das Sprachmodell hat nicht geantwortet, deshalb werden die Textstellen zitiert.",
        "llm_unchecked": "Die erzeugte Antwort ließ sich nicht an den Dokumenten prüfen, "
        "deshalb werden die Textstellen zitiert.",
        "llm_flagged": "Einige Aussagen werden von den Textstellen nicht gestützt;"
        " ihre Quellenangaben wurden entfernt.",
    },
    "zh": {
        "lead": "根据文档：",
        "sources": "来源",
        "not_found": "文档中没有回答这个问题的内容。",
        "closest": "最接近的段落（并未回答该问题）：",
        "shortened": "问题已被截断为前 {n} 个字符。",
        "instructions": "我只根据文档回答；问题中的指令不会被执行。",
        "empty": "请输入问题。",
        # generated answers (llm.py)
        "llm_failed": "语言模型没有回应，因此直接引用文档段落。",
        "llm_unchecked": "生成的回答无法根据文档核实，因此直接引用文档段落。",
        "llm_flagged": "部分陈述没有段落支持，其来源标记已被删除。",
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
        # generated answers (llm.py)
        "llm_failed": "Le modèle de langue n'a pas répondu ; les passages sont donc cités.",
        "llm_unchecked": "La réponse générée n'a pas pu être vérifiée dans les documents ;"
        " les passages sont donc cités.",
        "llm_flagged": "Certaines affirmations ne sont pas étayées par les passages ;"
        " leurs renvois ont été supprimés.",
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
        # generated answers (llm.py)
        "llm_failed": "El modelo de lenguaje no respondió, así que se citan los pasajes.",
        "llm_unchecked": "La respuesta generada no se pudo comprobar con los documentos, "
        "así que se citan los pasajes.",
        "llm_flagged": "Algunas afirmaciones no están respaldadas por los pasajes;"
        " se eliminaron sus referencias.",
    },
    "ja": {
        "lead": "文書によると：",
        "sources": "出典",
        "not_found": "文書にはこの質問への答えがありません。",
        "closest": "最も近い箇所（質問への答えではありません）：",
        "shortened": "質問は最初の {n} 文字に短縮されました。",
        "instructions": "文書のみに基づいて回答します。質問内の指示には従いません。",
        "empty": "質問を入力してください。",
        # generated answers (llm.py)
        "llm_failed": "言語モデルが応答しなかったため、該当箇所を引用します。",
        "llm_unchecked": "生成された回答を文書で確認できなかったため、該当箇所を引用します。",
        "llm_flagged": "一部の記述は該当箇所で裏付けられないため、その出典番号を削除しました。",
    },
    "ru": {
        "lead": "Согласно документам:",
        "sources": "Источники",
        "not_found": "В документах нет ответа на этот вопрос.",
        "closest": "Ближайший фрагмент (он не отвечает на вопрос):",
        "shortened": "Вопрос сокращён до первых {n} символов.",
        "instructions": "Я отвечаю только по документам; указания в вопросах не выполняются.",
        "empty": "Пожалуйста, задайте вопрос.",
        # generated answers (llm.py)
        "llm_failed": "Языковая модель не ответила, поэтому приводятся цитаты из документов.",
        "llm_unchecked": "Сгенерированный ответ не удалось проверить по документам, "
        "поэтому приводятся цитаты.",
        "llm_flagged": "Некоторые утверждения не подтверждаются фрагментами; ссылки на них удалены.",
    },
}


def message(lang: str, key: str, **kwargs: object) -> str:
    table = MESSAGES.get(lang, MESSAGES["en"])
    return table.get(key, MESSAGES["en"][key]).format(**kwargs)

"""What the service says to people, in the widget's six languages, chosen by Accept-Language.

Errors keep their stable `code` (and each field's); only the human `message` is translated,
looked up by that code. English messages may name specifics (a limit, the allowed values)
that the other languages say more generally; a translation names the limit where the field
error carries it. Every key exists in every language (tests/test_messages.py checks it).
"""

from __future__ import annotations

import functools
import re

LANGUAGES = ("en", "de", "fr", "es", "ru", "zh")
DEFAULT = "en"
# Accept-Language is read this far: enough for any browser's list, bounded for a hostile one.
MAX_HEADER = 256
_RANGE = re.compile(r"\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]{1,5}))?\s*")

# error.<code>: an error's message; field.<code>: a field error's message; reply.<name>: the
# page a refused no-JavaScript comment gets (service/web/nojs.py); privacy.<name>: the page
# where a reader asks for the link to their data (routes/privacy.py).
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "error.bad_request": "The request could not be understood.",
        "error.not_found": "No such resource.",
        "error.method_not_allowed": "Method not allowed on this resource.",
        "error.payload_too_large": "The request body is too large.",
        "error.unsupported_media_type": "Unsupported content type.",
        "error.http_error": "The request failed.",
        "error.validation_failed": "Some fields are invalid.",
        "error.storage_unavailable": "Storage is unavailable; nothing was saved. "
        "Try again shortly.",
        "error.request_timeout": "The request took too long.",
        "error.internal_error": "Something went wrong on our side.",
        "error.rate_limited": "Too many requests; try again later.",
        "error.origin_not_allowed": "This site may not use the comment service.",
        "error.malformed_json": "The body is not valid JSON.",
        "error.invalid_body": "The JSON body must be an object.",
        "error.malformed_form": "The form data is not valid UTF-8.",
        "error.invalid_idempotency_key": "Idempotency-Key must be 1-255 printable ASCII.",
        "error.idempotency_key_reused": "This Idempotency-Key was used for other content.",
        "error.edit_window_closed": "The time to edit or delete this comment has passed.",
        "error.unauthorized": "A valid token is required.",
        "error.moderation_disabled": "No moderator tokens are configured.",
        "error.commenter_banned": "Your comment cannot be accepted on this site.",
        "error.comments_closed": "Comments on this article are closed.",
        "field.required": "This field is required.",
        "field.invalid_type": "This field has the wrong type.",
        "field.too_long": "At most {limit} characters.",
        "field.too_long_unbounded": "This is too long.",
        "field.invalid_characters": "This contains control characters.",
        "field.invalid_email": "Enter a valid email address.",
        "field.invalid_url": "Enter an http(s) address with a host.",
        "field.invalid_parent": "This is not a comment id.",
        "field.parent_not_found": "No such comment on this article.",
        "field.invalid_commenter_key": "This commenter key is not valid.",
        "field.invalid_reader_key": "This reader key is not valid.",
        "field.invalid": "This value is not valid.",
        "field.invalid_limit": "This limit is not valid.",
        "field.invalid_cursor": "This cursor is not valid; pass it back unchanged.",
        "field.invalid_choice": "This is not one of the allowed values.",
        "field.invalid_ids": "These comment ids are not valid.",
        "reply.title": "Your comment could not be posted",
        "reply.comment": "Comment",
        "reply.name": "Name",
        "reply.email": "Email",
        "reply.website": "Website",
        "reply.email_again": "For your privacy the address is never sent "
        "back: please enter it again.",
        "reply.post": "Post Comment",
        "reply.back": "Back to the article",
        "reply.limit": "Comments may be up to {max_comment} characters.",
        "privacy.title": "Your comments and data",
        "privacy.intro": "Type the address you commented with. We send a link to it: from there "
        "you can download your comments or erase them and your address. The link works for 24 "
        "hours.",
        "privacy.label": "Your email address",
        "privacy.send": "Send me the link",
        "privacy.sent_title": "Check your inbox",
        "privacy.sent": "If this address has comments here, a link is on its way to it.",
    },
    "de": {
        "error.bad_request": "Die Anfrage ist unverständlich.",
        "error.not_found": "Nicht gefunden.",
        "error.method_not_allowed": "Diese Methode ist hier nicht erlaubt.",
        "error.payload_too_large": "Die Anfrage ist zu groß.",
        "error.unsupported_media_type": "Dieser Inhaltstyp wird nicht unterstützt.",
        "error.http_error": "Die Anfrage ist fehlgeschlagen.",
        "error.validation_failed": "Einige Felder sind ungültig.",
        "error.storage_unavailable": "Der Speicher ist nicht erreichbar; nichts wurde "
        "gespeichert. Bitte gleich noch einmal versuchen.",
        "error.request_timeout": "Die Anfrage hat zu lange gedauert.",
        "error.internal_error": "Bei uns ist etwas schiefgegangen.",
        "error.rate_limited": "Zu viele Anfragen; bitte später noch einmal versuchen.",
        "error.origin_not_allowed": "Diese Website darf den Kommentardienst nicht nutzen.",
        "error.malformed_json": "Der Inhalt ist kein gültiges JSON.",
        "error.invalid_body": "Der JSON-Inhalt muss ein Objekt sein.",
        "error.malformed_form": "Die Formulardaten sind kein gültiges UTF-8.",
        "error.invalid_idempotency_key": "Idempotency-Key muss aus 1-255 druckbaren "
        "ASCII-Zeichen bestehen.",
        "error.idempotency_key_reused": "Dieser Idempotency-Key wurde für anderen Inhalt "
        "verwendet.",
        "error.edit_window_closed": "Die Zeit zum Bearbeiten oder Löschen dieses Kommentars "
        "ist abgelaufen.",
        "error.unauthorized": "Ein gültiges Token ist erforderlich.",
        "error.moderation_disabled": "Es sind keine Moderations-Tokens eingerichtet.",
        "error.commenter_banned": "Ihr Kommentar kann auf dieser Website nicht angenommen werden.",
        "error.comments_closed": "Die Kommentare zu diesem Artikel sind geschlossen.",
        "field.required": "Dieses Feld ist erforderlich.",
        "field.invalid_type": "Dieses Feld hat den falschen Typ.",
        "field.too_long": "Höchstens {limit} Zeichen.",
        "field.too_long_unbounded": "Das ist zu lang.",
        "field.invalid_characters": "Das enthält Steuerzeichen.",
        "field.invalid_email": "Bitte eine gültige E-Mail-Adresse eingeben.",
        "field.invalid_url": "Bitte eine http(s)-Adresse mit Host eingeben.",
        "field.invalid_parent": "Das ist keine Kommentar-ID.",
        "field.parent_not_found": "Diesen Kommentar gibt es zu diesem Artikel nicht.",
        "field.invalid_commenter_key": "Dieser Kommentatorschlüssel ist ungültig.",
        "field.invalid_reader_key": "Dieser Leserschlüssel ist ungültig.",
        "field.invalid": "Dieser Wert ist ungültig.",
        "field.invalid_limit": "Dieses Limit ist ungültig.",
        "field.invalid_cursor": "Dieser Cursor ist ungültig; bitte unverändert zurückgeben.",
        "field.invalid_choice": "Das ist keiner der erlaubten Werte.",
        "field.invalid_ids": "Diese Kommentar-IDs sind ungültig.",
        "reply.title": "Ihr Kommentar konnte nicht veröffentlicht werden",
        "reply.comment": "Kommentar",
        "reply.name": "Name",
        "reply.email": "E-Mail",
        "reply.website": "Website",
        "reply.email_again": "Zu Ihrem Schutz wird die Adresse nie "
        "zurückgesendet: bitte geben Sie sie erneut ein.",
        "reply.post": "Kommentar abschicken",
        "reply.back": "Zurück zum Artikel",
        "reply.limit": "Kommentare dürfen bis zu {max_comment} Zeichen lang sein.",
        "privacy.title": "Ihre Kommentare und Daten",
        "privacy.intro": "Geben Sie die Adresse ein, mit der Sie kommentiert haben. Wir schicken "
        "einen Link dorthin: Damit können Sie Ihre Kommentare herunterladen oder sie samt Ihrer "
        "Adresse löschen. Der Link gilt 24 Stunden.",
        "privacy.label": "Ihre E-Mail-Adresse",
        "privacy.send": "Link zusenden",
        "privacy.sent_title": "Sehen Sie in Ihr Postfach",
        "privacy.sent": "Wenn zu dieser Adresse Kommentare gespeichert sind, ist ein Link an sie "
        "unterwegs.",
    },
    "fr": {
        "error.bad_request": "La requête est incompréhensible.",
        "error.not_found": "Ressource introuvable.",
        "error.method_not_allowed": "Méthode non autorisée sur cette ressource.",
        "error.payload_too_large": "Le corps de la requête est trop volumineux.",
        "error.unsupported_media_type": "Type de contenu non pris en charge.",
        "error.http_error": "La requête a échoué.",
        "error.validation_failed": "Certains champs ne sont pas valides.",
        "error.storage_unavailable": "Le stockage est indisponible ; rien n’a été "
        "enregistré. Réessayez dans un instant.",
        "error.request_timeout": "La requête a pris trop de temps.",
        "error.internal_error": "Une erreur s’est produite de notre côté.",
        "error.rate_limited": "Trop de requêtes ; réessayez plus tard.",
        "error.origin_not_allowed": "Ce site n’est pas autorisé à utiliser le service de "
        "commentaires.",
        "error.malformed_json": "Le corps n’est pas du JSON valide.",
        "error.invalid_body": "Le corps JSON doit être un objet.",
        "error.malformed_form": "Les données du formulaire ne sont pas en UTF-8 valide.",
        "error.invalid_idempotency_key": "Idempotency-Key doit compter 1 à 255 caractères "
        "ASCII imprimables.",
        "error.idempotency_key_reused": "Cette Idempotency-Key a servi pour un autre contenu.",
        "error.edit_window_closed": "Le délai pour modifier ou supprimer ce commentaire est "
        "dépassé.",
        "error.unauthorized": "Un jeton valide est requis.",
        "error.moderation_disabled": "Aucun jeton de modération n’est configuré.",
        "error.commenter_banned": "Votre commentaire ne peut pas être accepté sur ce site.",
        "error.comments_closed": "Les commentaires de cet article sont fermés.",
        "field.required": "Ce champ est obligatoire.",
        "field.invalid_type": "Ce champ n’a pas le bon type.",
        "field.too_long": "{limit} caractères au maximum.",
        "field.too_long_unbounded": "C’est trop long.",
        "field.invalid_characters": "Ceci contient des caractères de contrôle.",
        "field.invalid_email": "Saisissez une adresse e-mail valide.",
        "field.invalid_url": "Saisissez une adresse http(s) avec un hôte.",
        "field.invalid_parent": "Ce n’est pas un identifiant de commentaire.",
        "field.parent_not_found": "Ce commentaire n’existe pas pour cet article.",
        "field.invalid_commenter_key": "Cette clé de commentateur n’est pas valide.",
        "field.invalid_reader_key": "Cette clé de lecteur n’est pas valide.",
        "field.invalid": "Cette valeur n’est pas valide.",
        "field.invalid_limit": "Cette limite n’est pas valide.",
        "field.invalid_cursor": "Ce curseur n’est pas valide ; renvoyez-le tel quel.",
        "field.invalid_choice": "Ce n’est pas l’une des valeurs autorisées.",
        "field.invalid_ids": "Ces identifiants de commentaire ne sont pas valides.",
        "reply.title": "Votre commentaire n’a pas pu être publié",
        "reply.comment": "Commentaire",
        "reply.name": "Nom",
        "reply.email": "E-mail",
        "reply.website": "Site web",
        "reply.email_again": "Pour votre confidentialité, l’adresse n’est jamais "
        "renvoyée : saisissez-la à nouveau.",
        "reply.post": "Publier le commentaire",
        "reply.back": "Retour à l’article",
        "reply.limit": "Un commentaire peut compter jusqu’à {max_comment} caractères.",
        "privacy.title": "Vos commentaires et vos données",
        "privacy.intro": "Saisissez l’adresse avec laquelle vous avez commenté. Nous y envoyons un "
        "lien : de là, vous pouvez télécharger vos commentaires, ou les effacer avec votre "
        "adresse. Le lien est valable 24 heures.",
        "privacy.label": "Votre adresse e-mail",
        "privacy.send": "M’envoyer le lien",
        "privacy.sent_title": "Consultez votre boîte de réception",
        "privacy.sent": "Si cette adresse a des commentaires ici, un lien est en route vers elle.",
    },
    "es": {
        "error.bad_request": "No se ha podido entender la solicitud.",
        "error.not_found": "El recurso no existe.",
        "error.method_not_allowed": "Método no permitido en este recurso.",
        "error.payload_too_large": "El cuerpo de la solicitud es demasiado grande.",
        "error.unsupported_media_type": "Tipo de contenido no admitido.",
        "error.http_error": "La solicitud ha fallado.",
        "error.validation_failed": "Algunos campos no son válidos.",
        "error.storage_unavailable": "El almacenamiento no está disponible; no se ha "
        "guardado nada. Inténtalo de nuevo en un momento.",
        "error.request_timeout": "La solicitud ha tardado demasiado.",
        "error.internal_error": "Algo ha fallado por nuestra parte.",
        "error.rate_limited": "Demasiadas solicitudes; inténtalo más tarde.",
        "error.origin_not_allowed": "Este sitio no puede usar el servicio de comentarios.",
        "error.malformed_json": "El cuerpo no es JSON válido.",
        "error.invalid_body": "El cuerpo JSON debe ser un objeto.",
        "error.malformed_form": "Los datos del formulario no son UTF-8 válido.",
        "error.invalid_idempotency_key": "Idempotency-Key debe tener de 1 a 255 caracteres "
        "ASCII imprimibles.",
        "error.idempotency_key_reused": "Esta Idempotency-Key se usó para otro contenido.",
        "error.edit_window_closed": "Ha pasado el plazo para editar o borrar este comentario.",
        "error.unauthorized": "Se necesita un token válido.",
        "error.moderation_disabled": "No hay tokens de moderación configurados.",
        "error.commenter_banned": "Tu comentario no puede aceptarse en este sitio.",
        "error.comments_closed": "Los comentarios de este artículo están cerrados.",
        "field.required": "Este campo es obligatorio.",
        "field.invalid_type": "Este campo tiene un tipo incorrecto.",
        "field.too_long": "Como máximo {limit} caracteres.",
        "field.too_long_unbounded": "Es demasiado largo.",
        "field.invalid_characters": "Contiene caracteres de control.",
        "field.invalid_email": "Introduce una dirección de correo válida.",
        "field.invalid_url": "Introduce una dirección http(s) con un host.",
        "field.invalid_parent": "No es un identificador de comentario.",
        "field.parent_not_found": "Ese comentario no existe en este artículo.",
        "field.invalid_commenter_key": "Esta clave de comentarista no es válida.",
        "field.invalid_reader_key": "Esta clave de lector no es válida.",
        "field.invalid": "Este valor no es válido.",
        "field.invalid_limit": "Este límite no es válido.",
        "field.invalid_cursor": "Este cursor no es válido; devuélvelo sin cambios.",
        "field.invalid_choice": "No es uno de los valores permitidos.",
        "field.invalid_ids": "Estos identificadores de comentario no son válidos.",
        "reply.title": "No se ha podido publicar tu comentario",
        "reply.comment": "Comentario",
        "reply.name": "Nombre",
        "reply.email": "Correo electrónico",
        "reply.website": "Sitio web",
        "reply.email_again": "Por tu privacidad, la dirección nunca se "
        "devuelve: vuelve a escribirla.",
        "reply.post": "Publicar comentario",
        "reply.back": "Volver al artículo",
        "reply.limit": "Los comentarios pueden tener hasta {max_comment} caracteres.",
        "privacy.title": "Tus comentarios y tus datos",
        "privacy.intro": "Escribe la dirección con la que comentaste. Te enviamos un enlace: desde "
        "él puedes descargar tus comentarios o borrarlos junto con tu dirección. El enlace vale "
        "durante 24 horas.",
        "privacy.label": "Tu dirección de correo",
        "privacy.send": "Envíame el enlace",
        "privacy.sent_title": "Revisa tu bandeja de entrada",
        "privacy.sent": "Si esta dirección tiene comentarios aquí, le llegará un enlace.",
    },
    "ru": {
        "error.bad_request": "Запрос не удалось разобрать.",
        "error.not_found": "Ресурс не найден.",
        "error.method_not_allowed": "Этот метод здесь не разрешён.",
        "error.payload_too_large": "Тело запроса слишком велико.",
        "error.unsupported_media_type": "Этот тип содержимого не поддерживается.",
        "error.http_error": "Запрос не выполнен.",
        "error.validation_failed": "Некоторые поля заполнены неверно.",
        "error.storage_unavailable": "Хранилище недоступно; ничего не сохранено. "
        "Попробуйте ещё раз чуть позже.",
        "error.request_timeout": "Запрос выполнялся слишком долго.",
        "error.internal_error": "У нас что-то пошло не так.",
        "error.rate_limited": "Слишком много запросов; попробуйте позже.",
        "error.origin_not_allowed": "Этому сайту нельзя использовать сервис комментариев.",
        "error.malformed_json": "Тело запроса не является корректным JSON.",
        "error.invalid_body": "Тело JSON должно быть объектом.",
        "error.malformed_form": "Данные формы не в кодировке UTF-8.",
        "error.invalid_idempotency_key": "Idempotency-Key должен содержать от 1 до 255 "
        "печатных символов ASCII.",
        "error.idempotency_key_reused": "Этот Idempotency-Key уже использован для другого "
        "содержимого.",
        "error.edit_window_closed": "Время на изменение или удаление этого комментария истекло.",
        "error.unauthorized": "Нужен действительный токен.",
        "error.moderation_disabled": "Токены модераторов не настроены.",
        "error.commenter_banned": "Ваш комментарий не может быть принят на этом сайте.",
        "error.comments_closed": "Комментарии к этой статье закрыты.",
        "field.required": "Это поле обязательно.",
        "field.invalid_type": "У этого поля неверный тип.",
        "field.too_long": "Не более {limit} символов.",
        "field.too_long_unbounded": "Слишком длинно.",
        "field.invalid_characters": "Здесь есть управляющие символы.",
        "field.invalid_email": "Введите корректный адрес электронной почты.",
        "field.invalid_url": "Введите адрес http(s) с именем хоста.",
        "field.invalid_parent": "Это не идентификатор комментария.",
        "field.parent_not_found": "У этой статьи нет такого комментария.",
        "field.invalid_commenter_key": "Ключ комментатора недействителен.",
        "field.invalid_reader_key": "Ключ читателя недействителен.",
        "field.invalid": "Недопустимое значение.",
        "field.invalid_limit": "Недопустимый лимит.",
        "field.invalid_cursor": "Недопустимый курсор; передайте его без изменений.",
        "field.invalid_choice": "Это не одно из допустимых значений.",
        "field.invalid_ids": "Недопустимые идентификаторы комментариев.",
        "reply.title": "Не удалось опубликовать ваш комментарий",
        "reply.comment": "Комментарий",
        "reply.name": "Имя",
        "reply.email": "Эл. почта",
        "reply.website": "Сайт",
        "reply.email_again": "Ради вашей конфиденциальности адрес никогда не "
        "отправляется обратно: введите его ещё раз.",
        "reply.post": "Отправить комментарий",
        "reply.back": "Вернуться к статье",
        "reply.limit": "Комментарий может содержать до {max_comment} символов.",
        "privacy.title": "Ваши комментарии и данные",
        "privacy.intro": "Введите адрес, с которым вы оставляли комментарии. Мы отправим на него "
        "ссылку: по ней можно скачать ваши комментарии или удалить их вместе с адресом. Ссылка "
        "действует 24 часа.",
        "privacy.label": "Ваш адрес электронной почты",
        "privacy.send": "Прислать ссылку",
        "privacy.sent_title": "Проверьте почту",
        "privacy.sent": "Если с этим адресом здесь есть комментарии, ссылка уже отправлена на "
        "него.",
    },
    "zh": {
        "error.bad_request": "无法理解该请求。",
        "error.not_found": "资源不存在。",
        "error.method_not_allowed": "此资源不允许该方法。",
        "error.payload_too_large": "请求内容过大。",
        "error.unsupported_media_type": "不支持的内容类型。",
        "error.http_error": "请求失败。",
        "error.validation_failed": "部分字段无效。",
        "error.storage_unavailable": "存储暂不可用，未保存任何内容。请稍后重试。",
        "error.request_timeout": "请求耗时过长。",
        "error.internal_error": "我们这边出了问题。",
        "error.rate_limited": "请求过多，请稍后再试。",
        "error.origin_not_allowed": "此网站无权使用评论服务。",
        "error.malformed_json": "请求内容不是有效的 JSON。",
        "error.invalid_body": "JSON 内容必须是一个对象。",
        "error.malformed_form": "表单数据不是有效的 UTF-8。",
        "error.invalid_idempotency_key": "Idempotency-Key 必须是 1 到 255 个可打印的 ASCII 字符。",
        "error.idempotency_key_reused": "此 Idempotency-Key 已用于其他内容。",
        "error.edit_window_closed": "编辑或删除此评论的时限已过。",
        "error.unauthorized": "需要有效的令牌。",
        "error.moderation_disabled": "未配置审核令牌。",
        "error.commenter_banned": "本网站无法接受您的评论。",
        "error.comments_closed": "本文的评论已关闭。",
        "field.required": "此字段为必填项。",
        "field.invalid_type": "此字段类型错误。",
        "field.too_long": "最多 {limit} 个字符。",
        "field.too_long_unbounded": "内容过长。",
        "field.invalid_characters": "包含控制字符。",
        "field.invalid_email": "请输入有效的电子邮件地址。",
        "field.invalid_url": "请输入带主机名的 http(s) 地址。",
        "field.invalid_parent": "这不是评论 ID。",
        "field.parent_not_found": "本文没有这条评论。",
        "field.invalid_commenter_key": "评论者密钥无效。",
        "field.invalid_reader_key": "读者密钥无效。",
        "field.invalid": "该值无效。",
        "field.invalid_limit": "该数量限制无效。",
        "field.invalid_cursor": "该游标无效，请原样传回。",
        "field.invalid_choice": "不是允许的取值之一。",
        "field.invalid_ids": "评论 ID 无效。",
        "reply.title": "您的评论未能发布",
        "reply.comment": "评论",
        "reply.name": "姓名",
        "reply.email": "电子邮件",
        "reply.website": "网站",
        "reply.email_again": "为保护您的隐私，地址不会回传：请重新输入。",
        "reply.post": "发表评论",
        "reply.back": "返回文章",
        "reply.limit": "评论最多 {max_comment} 个字符。",
        "privacy.title": "您的评论和数据",
        "privacy.intro": "请输入您发表评论时使用的地址。"
        "我们会向该地址发送一个链接：通过它，您可以下载您的评论，或删除评论及您的地址。"
        "链接在 24 小时内有效。",
        "privacy.label": "您的电子邮件地址",
        "privacy.send": "把链接发给我",
        "privacy.sent_title": "请查收邮件",
        "privacy.sent": "如果此地址在这里有评论，链接已发往该地址。",
    },
}


@functools.lru_cache(maxsize=512)
def negotiate(accept_language: str) -> str:
    """The language to answer in: the reader's most preferred one we have (q-values; the
    first listed wins a tie), else English."""
    best, best_q = DEFAULT, 0.0
    for part in accept_language[:MAX_HEADER].split(","):
        found = _RANGE.fullmatch(part)
        if found is None:
            continue
        try:
            q = float(found.group(2) or 1)
        except ValueError:
            continue
        language = found.group(1).lower()
        if language in MESSAGES and 0 < q <= 1 and q > best_q:
            best, best_q = language, q
    return best


def error_message(language: str, code: str, english: str) -> str:
    """An error's message: `english` as the code's raiser wrote it, else the translation."""
    if language == DEFAULT:
        return english
    return MESSAGES[language].get(f"error.{code}", english)


def field_message(language: str, code: str, english: str, limit: int | None = None) -> str:
    """A field error's message, naming the limit where it has one."""
    if language == DEFAULT:
        return english
    table = MESSAGES[language]
    if code == "too_long":
        return (
            table["field.too_long_unbounded"]
            if limit is None
            else table["field.too_long"].format(limit=limit)
        )
    return table.get(f"field.{code}", english)


@functools.cache
def texts(language: str, prefix: str) -> dict[str, str]:
    """A page's strings in `language`, by their names after `prefix` (e.g. "reply.")."""
    return {
        k.removeprefix(prefix): v for k, v in MESSAGES[language].items() if k.startswith(prefix)
    }

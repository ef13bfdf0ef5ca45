"""One small module per kind of position a message can meet, each a few functions of a ``Turn``.

``dialogs.router`` picks the handler; ``asking`` says what a draft's position asks (every handler
ends by asking). ``home`` (menus outside a draft), ``drafts`` (start, resume, reopen), ``commands``
(those that work anywhere, and those of a draft), ``field``, ``groups``, ``review``, ``edit``,
``cancel``. 组联部's desk is ``dialogs.supervisor_desk``.
"""

#!/usr/bin/env node
/*
 * Telegram Bot API emulator for end-to-end tests: `telegram-test-api` (pinned in package.json) plus a
 * compatibility layer that restores the Bot API behaviour our bot relies on.
 *
 *   node server.js [--port N] [--token 123456:TEST-TOKEN] [--bot-username fulian_test_bot]
 *
 * Listens on 127.0.0.1 only. Prints exactly one line, "READY <port>", on stdout once it accepts
 * connections (--port 0, the default, picks a free port); everything else goes to stderr. Exits when
 * its stdin closes (so it never outlives the test process that started it) or on SIGTERM/SIGINT.
 *
 * How it is layered
 * -----------------
 * `TelegramServer` from the package provides the Express app, the HTTP server and its start/stop, and
 * the update/message/callback counters. Its own bot routes return responses that python-telegram-bot
 * cannot parse (getMe without is_bot, dates in milliseconds, `result: null` where the Bot API returns
 * a Message or True, errors as HTTP 500 `{message}`) and several methods are missing, so this file
 * mounts one Express router IN FRONT OF the emulator's routes. Every Bot API method the bot uses is
 * answered here; the only method passed through to the emulator is setWebhook (not used by the polling
 * tests). Each PATCH below cites the Bot API rule (https://core.telegram.org/bots/api) it restores.
 *
 * The emulator's own test-client routes (/sendMessage, /sendCommand, /sendCallback, /getUpdates,
 * /getUpdatesHistory) fill a store that the patched getUpdates does not read, so they are shadowed
 * with an explanatory error. The simulated user and the test assertions use the /_compat/* routes at
 * the end of this file instead (wrapped by tests/telegram_emulator/__init__.py).
 */

'use strict';

const crypto = require('crypto');
const { EventEmitter } = require('events');
const express = require('express');
const TelegramServer = require('telegram-test-api');

// ---------------------------------------------------------------------------------------------------
// Command line

function parseArgs(argv) {
  const options = { port: 0, token: '123456:TEST-TOKEN', botUsername: 'fulian_test_bot' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`missing value for ${flag}`);
    if (flag === '--port') options.port = Number(value);
    else if (flag === '--token') options.token = value;
    else if (flag === '--bot-username') options.botUsername = value;
    else throw new Error(`unknown option ${flag}`);
  }
  if (!/^\d+:[\w-]+$/.test(options.token)) throw new Error('token must look like "<bot id>:<secret>"');
  return options;
}

// ---------------------------------------------------------------------------------------------------
// Bot API limits and helpers

const MAX_TEXT = 4096; // sendMessage: "Text of the message to be sent, 1-4096 characters after entities parsing"
const MAX_CAPTION = 1024; // sendDocument: "Document caption ..., 0-1024 characters after entities parsing"
const MAX_UPLOAD = 50 * 1024 * 1024; // "Bots can currently send files of any type of up to 50 MB in size"
const MAX_DOWNLOAD = 20 * 1024 * 1024; // getFile: "bots can download files of up to 20MB in size"
const CHAT_ACTIONS = new Set([
  'typing', 'upload_photo', 'record_video', 'upload_video', 'record_voice', 'upload_voice',
  'upload_document', 'choose_sticker', 'find_location', 'record_video_note', 'upload_video_note',
]);
const COMMAND_SCOPES = new Set([
  'default', 'all_private_chats', 'all_group_chats', 'all_chat_administrators', 'chat',
  'chat_administrators', 'chat_member',
]);
// getUpdates: an empty allowed_updates list means "all update types except chat_member,
// message_reaction and message_reaction_count"; only these two types are ever produced here.
const UPDATE_TYPES = ['message', 'callback_query'];
// file_id prefixes look like Telegram's (opaque to bots anyway); file_path folders as getFile returns them.
const FILE_KINDS = {
  photo: { idPrefix: 'AgACAgUAAxkBAAI', folder: 'photos', extension: 'jpg' },
  document: { idPrefix: 'BQACAgUAAxkBAAI', folder: 'documents', extension: 'bin' },
  video: { idPrefix: 'BAACAgUAAxkBAAI', folder: 'videos', extension: 'mp4' },
};

/** A failed Bot API request: `{"ok": false, "error_code": ..., "description": ...}` with that HTTP status. */
class ApiError extends Error {
  constructor(code, description, parameters) {
    super(description);
    this.code = code;
    this.parameters = parameters;
  }
}

const badRequest = (what) => new ApiError(400, `Bad Request: ${what}`);
const now = () => Math.floor(Date.now() / 1000);
const randomId = (prefix, bytes) => prefix + crypto.randomBytes(bytes).toString('base64url');

/** JSON-typed parameters arrive JSON-serialized in form/multipart bodies (PTB always sends them so). */
function jsonParam(params, name) {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw badRequest(`can't parse ${name} JSON object`);
  }
}

function intParam(params, name, { required = false } = {}) {
  const value = params[name];
  if (value === undefined || value === '') {
    if (required) throw badRequest(`${name} is empty`);
    return undefined;
  }
  const number = Number(value);
  if (!Number.isFinite(number)) throw badRequest(`invalid ${name} specified`);
  return number;
}

/** Bot commands the way Telegram clients mark them: "/cmd" or "/cmd@bot" at a word start. Offsets and
 * lengths are in UTF-16 code units, which is what JavaScript string indices count. */
function commandEntities(text) {
  const entities = [];
  const pattern = /(^|\s)(\/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?)(?=$|\s)/g;
  for (const match of text.matchAll(pattern)) {
    entities.push({ offset: match.index + match[1].length, length: match[2].length, type: 'bot_command' });
  }
  return entities;
}

function fileExtension(fileName, fallback) {
  const match = /\.([A-Za-z0-9]{1,8})$/.exec(fileName || '');
  return match ? match[1].toLowerCase() : fallback;
}

// ---------------------------------------------------------------------------------------------------
// State behind the compatibility layer (one bot, private chats only)

class CompatState extends EventEmitter {
  constructor(server, options) {
    super();
    this.setMaxListeners(0);
    this.server = server; // the emulator: its update/message/callback counters are reused
    this.token = options.token;
    this.bot = {
      id: Number(options.token.split(':')[0]), // a bot token is "<bot id>:<secret>"
      is_bot: true,
      first_name: 'Fulian Intake (test)',
      username: options.botUsername,
    };
    this.users = new Map(); // user id -> User; a private chat exists once the user has written
    this.pending = []; // unconfirmed updates: { update, redelivery, delivered }
    this.history = new Map(); // update_id -> update, for redelivery
    this.allowedUpdates = null; // null: Telegram's default set
    this.messages = new Map(); // "chat:message_id" -> bot message record
    this.files = new Map(); // file_id -> { file_unique_id, path, size, bytes }
    this.filesByPath = new Map();
    this.callbacks = new Map(); // callback query id -> { answered }
    this.commands = new Map(); // "scope|language" -> [BotCommand]
    this.calls = []; // every Bot API call: { method, params, at, error }
    this.injected = []; // { method, code, description, retry_after, times }
    this.poller = null; // the getUpdates request being held open
    this.fileCounter = 0;
  }

  nextUpdateId() {
    return this.server.updateId++;
  }

  nextMessageId() {
    return this.server.messageId++;
  }

  privateChat(user) {
    const chat = { id: user.id, type: 'private', first_name: user.first_name };
    if (user.last_name) chat.last_name = user.last_name;
    if (user.username) chat.username = user.username;
    return chat;
  }

  requireChat(chatId) {
    const user = this.users.get(Number(chatId));
    // Bots cannot start conversations: a private chat exists only after the user wrote to the bot.
    if (!user) throw badRequest('chat not found');
    return user;
  }

  addFile({ kind, bytes, size, fileName }) {
    const { idPrefix, folder, extension } = FILE_KINDS[kind];
    this.fileCounter += 1;
    const file = {
      file_id: randomId(idPrefix, 36),
      file_unique_id: randomId('AQAD', 9),
      size: bytes ? bytes.length : size,
      path: `${folder}/file_${this.fileCounter}.${fileExtension(fileName, extension)}`,
      bytes,
    };
    this.files.set(file.file_id, file);
    this.filesByPath.set(file.path, file);
    return file;
  }

  /** Queue an update for getUpdates; returns its update_id. */
  addUpdate(type, payload) {
    const update = { update_id: this.nextUpdateId(), [type]: payload };
    this.history.set(update.update_id, update);
    const allowed = this.allowedUpdates && this.allowedUpdates.length ? this.allowedUpdates : UPDATE_TYPES;
    // allowed_updates: updates of types the bot did not ask for are never delivered.
    if (allowed.includes(type)) {
      this.pending.push({ update, redelivery: false, delivered: false });
      this.emit('update');
    }
    return update.update_id;
  }

  redeliver(updateId) {
    const update = this.history.get(updateId);
    if (!update) throw badRequest(`no update ${updateId}`);
    this.pending.push({ update, redelivery: true, delivered: false });
    this.emit('update');
  }

  /** The getUpdates selection rules (see the getUpdates patch). */
  takeUpdates(offset, limit) {
    if (offset !== undefined && offset < 0) {
      this.pending = this.pending.slice(offset);
    } else if (offset) {
      this.pending = this.pending.filter((item) => item.update.update_id >= offset
        || (item.redelivery && !item.delivered));
    }
    const batch = [...this.pending]
      .sort((a, b) => a.update.update_id - b.update.update_id)
      .slice(0, limit);
    for (const item of batch) item.delivered = true;
    // A forced redelivery is handed out once; afterwards it counts as confirmed.
    this.pending = this.pending.filter((item) => !(item.redelivery && item.delivered));
    return batch.map((item) => item.update);
  }

  addBotMessage(chatId, fields, keyboard) {
    const user = this.requireChat(chatId);
    const message = {
      message_id: this.nextMessageId(),
      from: this.bot,
      chat: this.privateChat(user),
      date: now(),
      ...fields,
    };
    const record = { message, keyboard: null, document: null };
    this.applyMarkup(record, keyboard);
    this.messages.set(`${user.id}:${message.message_id}`, record);
    this.emit('botMessage');
    return record;
  }

  /** Keep the user-visible keyboard; the Message object carries reply_markup only for inline keyboards. */
  applyMarkup(record, markup) {
    const { message } = record;
    delete message.reply_markup;
    record.keyboard = null;
    if (!markup) return;
    if (markup.inline_keyboard) {
      if (markup.inline_keyboard.length) message.reply_markup = markup;
      record.keyboard = { kind: 'inline', rows: markup.inline_keyboard };
    } else if (markup.keyboard) {
      record.keyboard = { kind: 'reply', rows: markup.keyboard };
    } else if (markup.remove_keyboard) {
      record.keyboard = { kind: 'remove', rows: [] };
    } else if (markup.force_reply) {
      record.keyboard = { kind: 'force_reply', rows: [] };
    }
  }

  botMessage(chatId, messageId) {
    const record = this.messages.get(`${Number(chatId)}:${Number(messageId)}`);
    return record && !record.deleted ? record : undefined;
  }

  chatMessages(chatId) {
    return [...this.messages.entries()]
      .filter(([key, record]) => key.startsWith(`${Number(chatId)}:`) && !record.deleted)
      .map(([, record]) => record)
      .sort((a, b) => a.message.message_id - b.message.message_id);
  }
}

// ---------------------------------------------------------------------------------------------------
// Validation shared by several methods

function validateText(text, { caption = false } = {}) {
  const limit = caption ? MAX_CAPTION : MAX_TEXT;
  if (!caption && (text === undefined || String(text).trim() === '')) throw badRequest('message text is empty');
  if (text !== undefined && String(text).length > limit) {
    throw badRequest(caption ? 'message caption is too long' : 'message is too long');
  }
}

function validateParseMode(params) {
  if (params.parse_mode && !['HTML', 'Markdown', 'MarkdownV2'].includes(params.parse_mode)) {
    throw badRequest(`unsupported parse_mode`);
  }
}

/** reply_markup: InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove or ForceReply. */
function parseMarkup(params, { inlineOnly = false } = {}) {
  const markup = jsonParam(params, 'reply_markup');
  if (markup === undefined) return undefined;
  if (typeof markup !== 'object' || markup === null) throw badRequest('object expected as reply markup');
  if (markup.inline_keyboard) {
    if (!Array.isArray(markup.inline_keyboard) || !markup.inline_keyboard.every(Array.isArray)) {
      throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays');
    }
    for (const button of markup.inline_keyboard.flat()) {
      if (!button || typeof button.text !== 'string' || button.text === '') throw badRequest('BUTTON_TEXT_INVALID');
      if ('callback_data' in button) {
        // InlineKeyboardButton.callback_data: "Data to be sent in a callback query to the bot when the
        // button is pressed, 1-64 bytes" (bytes of UTF-8: a Chinese character takes 3).
        const size = Buffer.byteLength(String(button.callback_data), 'utf8');
        if (size < 1 || size > 64) throw badRequest('BUTTON_DATA_INVALID');
      } else if (!['url', 'web_app', 'login_url', 'switch_inline_query', 'switch_inline_query_current_chat',
        'switch_inline_query_chosen_chat', 'copy_text', 'callback_game', 'pay'].some((key) => key in button)) {
        // "Exactly one of the optional fields must be used to specify type of the button."
        throw badRequest('text buttons are unallowed in the inline keyboard');
      }
    }
    return markup;
  }
  if (inlineOnly) throw badRequest('inline keyboard expected');
  if (markup.keyboard) {
    if (!Array.isArray(markup.keyboard) || !markup.keyboard.every(Array.isArray)) {
      throw badRequest('field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays');
    }
    markup.keyboard = markup.keyboard.map((row) => row.map((button) => (
      typeof button === 'string' ? { text: button } : button)));
    if (markup.keyboard.flat().some((button) => !button || !button.text)) throw badRequest('BUTTON_TEXT_INVALID');
    return markup;
  }
  if (markup.remove_keyboard === true || markup.force_reply === true) return markup;
  throw badRequest('unsupported reply_markup');
}

function parseCommandScope(params, state) {
  const scope = jsonParam(params, 'scope') || { type: 'default' };
  if (!COMMAND_SCOPES.has(scope.type)) throw badRequest('wrong scope type specified');
  if (['chat', 'chat_administrators', 'chat_member'].includes(scope.type)) state.requireChat(scope.chat_id);
  return scope;
}

function commandsKey(scope, languageCode) {
  return `${JSON.stringify([scope.type, scope.chat_id ?? null, scope.user_id ?? null])}|${languageCode || ''}`;
}

// ---------------------------------------------------------------------------------------------------
// Bot API methods. Each handler gets (params, state, req, res) and returns the `result` to send, or
// undefined when it answered by itself (the long-polling getUpdates).

const methods = {
  // PATCH getMe. The emulator returns {username, first_name, id: 666} without is_bot, which PTB
  // requires. Bot API: getMe "Returns basic information about the bot in form of a User object"; the
  // User has is_bot = true, and getMe alone also fills can_join_groups, can_read_all_group_messages and
  // supports_inline_queries. The id is the one the token starts with ("<bot id>:<secret>").
  getme: (params, state) => ({
    ...state.bot,
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
  }),

  // PATCH deleteWebhook. Bot API: "Use this method to remove webhook integration if you decide to
  // switch back to getUpdates. Returns True on success." With drop_pending_updates=True "drop all
  // pending updates" (the emulator ignores that flag).
  deletewebhook: (params, state, req) => {
    delete state.server.webhooks[req.params.token];
    if (params.drop_pending_updates === 'true' || params.drop_pending_updates === true) state.pending = [];
    return true;
  },

  // ADDED getWebhookInfo. Bot API: "If the bot is using getUpdates, will return an object with the url
  // field empty." pending_update_count: "Number of updates awaiting delivery".
  getwebhookinfo: (params, state, req) => {
    const webhook = state.server.webhooks[req.params.token];
    const info = { url: webhook ? webhook.url : '', has_custom_certificate: false,
      pending_update_count: state.pending.length };
    if (state.allowedUpdates) info.allowed_updates = state.allowedUpdates;
    return info;
  },

  // PATCH getUpdates. The emulator returns every unread update once, ignoring offset, limit, timeout and
  // allowed_updates. Bot API rules restored here:
  //  - "offset: Identifier of the first update to be returned ... By default, updates starting with the
  //    earliest unconfirmed update are returned. An update is considered confirmed as soon as getUpdates
  //    is called with an offset higher than its update_id." Unconfirmed updates are returned again on
  //    every call; confirmed ones are deleted. "The negative offset can be specified to retrieve updates
  //    starting from -offset update from the end of the updates queue. All previous updates will be
  //    forgotten."
  //  - "limit: Values between 1-100 are accepted. Defaults to 100."
  //  - "timeout: Timeout in seconds for long polling. Defaults to 0, i.e. usual short polling": with no
  //    update available the request is held until one arrives or the timeout passes, then [] is sent.
  //  - allowed_updates: "If not specified, the previous setting will be used"; "doesn't affect updates
  //    created before the call".
  //  - "This method will not work if an outgoing webhook is set up" (409 Conflict), and a newer
  //    getUpdates request ends an older one still waiting with 409 "terminated by other getUpdates
  //    request" (two bot instances polling).
  //  - Updates go out sorted by update_id ("Update identifiers start from a certain positive number and
  //    increase sequentially"). A test may force a duplicate delivery of an already confirmed update
  //    (POST /_compat/updates/:id/redeliver); it is handed out once, whatever the offset.
  getupdates: (params, state, req, res) => {
    if (state.server.webhooks[req.params.token]) {
      throw new ApiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook "
        + 'to delete the webhook first');
    }
    const offset = intParam(params, 'offset');
    const limit = Math.min(100, Math.max(1, intParam(params, 'limit') ?? 100));
    const timeout = Math.max(0, intParam(params, 'timeout') ?? 0);
    const allowed = jsonParam(params, 'allowed_updates');
    if (allowed !== undefined) state.allowedUpdates = allowed;

    if (state.poller) {
      state.poller.finish(new ApiError(409, 'Conflict: terminated by other getUpdates request; make sure that '
        + 'only one bot instance is running'));
    }
    const first = state.takeUpdates(offset, limit);
    if (first.length || timeout === 0) return first;

    let done = false;
    const poller = {
      finish(error) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        state.off('update', onUpdate);
        res.off('close', onClose);
        if (state.poller === poller) state.poller = null;
        if (error) sendError(res, error);
        else if (!res.writableEnded && !res.destroyed) res.json({ ok: true, result: state.takeUpdates(offset, limit) });
      },
    };
    const onUpdate = () => poller.finish();
    const onClose = () => {
      // The bot went away (for example its HTTP client was cancelled): stop waiting, deliver nothing.
      done = true;
      clearTimeout(timer);
      state.off('update', onUpdate);
      if (state.poller === poller) state.poller = null;
    };
    const timer = setTimeout(onUpdate, timeout * 1000);
    state.on('update', onUpdate);
    res.on('close', onClose);
    state.poller = poller;
    return undefined;
  },

  // PATCH sendMessage. The emulator stores the request body as the message, answers with `date` in
  // milliseconds, no `from`, a chat without the user's names, and never rejects anything. Bot API:
  //  - "On success, the sent Message is returned"; Message.date is "Date the message was sent in Unix
  //    time" (seconds); `from` is the bot; a private chat carries the user's first_name/username.
  //  - text: "1-4096 characters after entities parsing" (else "message is too long"; empty text fails).
  //  - Message.reply_markup: "Inline keyboard attached to the message" - only an InlineKeyboardMarkup is
  //    echoed back; reply keyboards (ReplyKeyboardMarkup/Remove, ForceReply) reach only the user's client.
  //  - Bots "can't initiate conversation with a user": chat_id must be a user who wrote to the bot.
  //  parse_mode is checked for a known value but formatting is NOT parsed: the text is stored verbatim.
  sendmessage: (params, state) => {
    state.requireChat(params.chat_id);
    validateText(params.text);
    validateParseMode(params);
    const markup = parseMarkup(params);
    const fields = { text: String(params.text) };
    const entities = jsonParam(params, 'entities');
    if (entities) fields.entities = entities;
    return state.addBotMessage(params.chat_id, fields, markup).message;
  },

  // ADDED sendDocument (missing in the emulator). Bot API: "Use this method to send general files. On
  // success, the sent Message is returned. Bots can currently send files of any type of up to 50 MB";
  // document is "a file_id ..., an HTTP URL ..., or upload a new one using multipart/form-data";
  // caption "0-1024 characters". The uploaded bytes are kept so the test can read the file back, and the
  // Message's Document carries file_name, mime_type, file_id, file_unique_id and file_size.
  senddocument: (params, state, req) => {
    state.requireChat(params.chat_id);
    validateText(params.caption, { caption: true });
    validateParseMode(params);
    const markup = parseMarkup(params);
    let file;
    let fileName;
    let mimeType;
    const upload = req.files && req.files.document;
    if (upload) {
      if (upload.bytes.length === 0) throw badRequest('file must be non-empty');
      if (upload.bytes.length > MAX_UPLOAD) throw new ApiError(413, 'Request Entity Too Large');
      fileName = upload.fileName;
      mimeType = upload.mimeType || 'application/octet-stream';
      file = state.addFile({ kind: 'document', bytes: upload.bytes, fileName });
    } else if (typeof params.document === 'string' && state.files.has(params.document)) {
      file = state.files.get(params.document); // re-sending a known file_id
      fileName = file.fileName;
      mimeType = file.mimeType;
    } else if (typeof params.document === 'string' && /^https?:\/\//.test(params.document)) {
      throw badRequest('failed to get HTTP URL content'); // no internet here
    } else {
      throw badRequest(params.document ? 'wrong file identifier/HTTP URL specified'
        : 'there is no document in the request');
    }
    file.fileName = fileName;
    file.mimeType = mimeType;
    const document = { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.size };
    if (fileName) document.file_name = fileName;
    if (mimeType) document.mime_type = mimeType;
    const fields = { document };
    if (params.caption) fields.caption = String(params.caption);
    const record = state.addBotMessage(params.chat_id, fields, markup);
    record.document = file;
    return record.message;
  },

  // PATCH answerCallbackQuery. The emulator answers `result: null` for any id. Bot API: "On success,
  // True is returned"; an unknown callback_query_id (or one already answered) fails with "query is too
  // old and response timeout expired or query ID is invalid". The answer is kept in the call log.
  answercallbackquery: (params, state) => {
    const query = state.callbacks.get(String(params.callback_query_id));
    if (!query || query.answered) {
      throw badRequest('query is too old and response timeout expired or query ID is invalid');
    }
    query.answered = true;
    return true;
  },

  // PATCH editMessageReplyMarkup. The emulator only stores a new inline keyboard (so buttons can never be
  // removed) and answers `result: null`. Bot API: reply_markup is "A JSON-serialized object for an
  // inline keyboard" - omitting it removes the keyboard; "On success, if the edited message is not an
  // inline message, the edited Message is returned"; an unknown message fails with "message to edit not
  // found"; an edit that changes nothing fails with "message is not modified".
  editmessagereplymarkup: (params, state) => {
    const record = editableMessage(params, state);
    const markup = parseMarkup(params, { inlineOnly: true });
    const before = JSON.stringify(record.message.reply_markup ?? null);
    const after = JSON.stringify(markup && markup.inline_keyboard.length ? markup : null);
    if (before === after) throw notModified();
    state.applyMarkup(record, markup);
    record.message.edit_date = now();
    state.emit('botMessage');
    return record.message;
  },

  // PATCH editMessageText. Same shortcomings and rules as editMessageReplyMarkup; additionally an
  // edited message keeps an inline keyboard only if reply_markup is passed again.
  editmessagetext: (params, state) => {
    const record = editableMessage(params, state);
    if (record.message.text === undefined) throw badRequest('there is no text in the message to edit');
    validateText(params.text);
    validateParseMode(params);
    const markup = parseMarkup(params, { inlineOnly: true });
    const sameMarkup = JSON.stringify(record.message.reply_markup ?? null)
      === JSON.stringify(markup && markup.inline_keyboard.length ? markup : null);
    if (record.message.text === String(params.text) && sameMarkup) throw notModified();
    record.message.text = String(params.text);
    state.applyMarkup(record, markup);
    record.message.edit_date = now();
    state.emit('botMessage');
    return record.message;
  },

  // PATCH deleteMessage. Bot API: "Returns True on success"; a missing message fails with "message to
  // delete not found". (The emulator's version searches its own store, which is not used here.)
  deletemessage: (params, state) => {
    const record = state.botMessage(params.chat_id, params.message_id);
    if (!record) throw badRequest('message to delete not found');
    record.deleted = true;
    state.emit('botMessage');
    return true;
  },

  // ADDED getFile. Bot API: "Use this method to get basic info about a file and prepare it for
  // downloading. For the moment, bots can download files of up to 20MB in size. On success, a File
  // object is returned. The file can then be downloaded via the link
  // https://api.telegram.org/file/bot<token>/<file_path>". Served by the /file/bot<token>/ route below.
  getfile: (params, state) => {
    const file = state.files.get(String(params.file_id));
    if (!file) throw badRequest('invalid file_id');
    if (file.size > MAX_DOWNLOAD) throw badRequest('file is too big');
    return { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.size, file_path: file.path };
  },

  // ADDED setMyCommands. Bot API: "Use this method to change the list of the bot's commands ... Returns
  // True on success." commands: "At most 100 commands can be specified"; BotCommand.command "1-32
  // characters. Can contain only lowercase English letters, digits and underscores", description "1-256
  // characters"; scope defaults to BotCommandScopeDefault; language_code "A two-letter ISO 639-1
  // language code" or empty.
  setmycommands: (params, state) => {
    const commands = jsonParam(params, 'commands');
    if (!Array.isArray(commands) || commands.length > 100) {
      throw badRequest('commands must be an array of at most 100 BotCommand');
    }
    for (const command of commands) {
      if (!command || !/^[a-z0-9_]{1,32}$/.test(String(command.command))) throw badRequest('BOT_COMMAND_INVALID');
      const description = String(command.description ?? '');
      if (description.length < 1 || description.length > 256) throw badRequest('BOT_COMMAND_DESCRIPTION_INVALID');
    }
    const languageCode = params.language_code || '';
    if (languageCode && !/^[a-z]{2}$/.test(languageCode)) throw badRequest('LANG_CODE_INVALID');
    state.commands.set(commandsKey(parseCommandScope(params, state), languageCode), commands);
    return true;
  },

  // ADDED getMyCommands. Bot API: "Returns an Array of BotCommand objects. If commands aren't set, an
  // empty list is returned." (for exactly that scope and language_code).
  getmycommands: (params, state) => state.commands.get(commandsKey(parseCommandScope(params, state),
    params.language_code || '')) || [],

  // ADDED deleteMyCommands. Bot API: "Returns True on success."
  deletemycommands: (params, state) => {
    state.commands.delete(commandsKey(parseCommandScope(params, state), params.language_code || ''));
    return true;
  },

  // ADDED sendChatAction. Bot API: "Use this method when you need to tell the user that something is
  // happening on the bot's side ... Returns True on success." action is one of the listed values.
  sendchataction: (params, state) => {
    state.requireChat(params.chat_id);
    if (!CHAT_ACTIONS.has(params.action)) throw badRequest('wrong parameter action in request');
    return true;
  },
};

function editableMessage(params, state) {
  if (params.inline_message_id) throw badRequest('MESSAGE_ID_INVALID'); // no inline mode here
  const record = state.botMessage(params.chat_id, params.message_id);
  if (!record) throw badRequest('message to edit not found');
  return record;
}

function notModified() {
  return badRequest('message is not modified: specified new message content and reply markup are exactly the '
    + 'same as a current content and reply markup of the message');
}

function sendError(res, error) {
  if (res.writableEnded || res.destroyed) return;
  const body = { ok: false, error_code: error.code, description: error.message };
  if (error.parameters) body.parameters = error.parameters;
  res.status(error.code).json(body);
}

// ---------------------------------------------------------------------------------------------------
// The router mounted in front of the emulator's routes

const BODY_LIMIT = '120mb';

/** multipart/form-data (file uploads) via the WHATWG FormData parser built into Node >= 18. Text parts
 * become req.body fields, file parts req.files[name] = { bytes, fileName, mimeType }. */
async function parseMultipart(req, res, next) {
  if (!req.is('multipart/form-data')) return next();
  try {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > MAX_UPLOAD + 1024 * 1024) throw new ApiError(413, 'Request Entity Too Large');
      chunks.push(chunk);
    }
    const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': req.headers['content-type'] } })
      .formData();
    req.body = {};
    req.files = {};
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string') req.body[name] = value;
      else {
        req.files[name] = { bytes: Buffer.from(await value.arrayBuffer()), fileName: value.name,
          mimeType: value.type };
      }
    }
    req._body = true; // tells later body parsers (the emulator's) that the body was read
    return next();
  } catch (error) {
    const failure = error instanceof ApiError ? error : badRequest(`can't parse multipart body: ${error.message}`);
    return sendError(res, failure);
  }
}

function recordCall(state, method, params, files) {
  const logged = {};
  for (const [name, value] of Object.entries(params)) {
    try {
      logged[name] = typeof value === 'string' && /^[[{]/.test(value) ? JSON.parse(value) : value;
    } catch {
      logged[name] = value;
    }
  }
  for (const [name, file] of Object.entries(files || {})) {
    logged[name] = { file_name: file.fileName, mime_type: file.mimeType, size: file.bytes.length };
  }
  const call = { method, params: logged, at: Date.now() / 1000, error: null };
  state.calls.push(call);
  return call;
}

function compatRouter(state) {
  const router = express.Router();
  router.use(express.json({ limit: BODY_LIMIT }));
  router.use(express.urlencoded({ extended: false, limit: BODY_LIMIT }));
  router.use(parseMultipart);

  // Every Bot API method, dispatched by name. Bot API: "All methods in the Bot API are case-insensitive"
  // and requests may use GET or POST with query string, urlencoded, JSON or multipart parameters.
  router.all('/bot:token/:method', (req, res, next) => {
    const method = req.params.method.toLowerCase();
    if (method === 'setwebhook') return next(); // left to the emulator (webhook mode is not emulated here)
    const params = { ...req.query, ...req.body };
    const call = recordCall(state, req.params.method, params, req.files);
    const fail = (error) => {
      call.error = error.message;
      sendError(res, error);
    };
    // PATCH authentication: the emulator accepts any token. Bot API: a request with a wrong token is
    // answered 401 {"ok":false,"error_code":401,"description":"Unauthorized"}.
    if (req.params.token !== state.token) return fail(new ApiError(401, 'Unauthorized'));
    // PATCH unknown methods: the emulator answers HTTP 500 {message}; the Bot API answers 404 Not Found.
    const handler = methods[method];
    if (!handler) return fail(new ApiError(404, 'Not Found'));
    // Fault injection (POST /_compat/inject_error): e.g. flood control, "429 Too Many Requests" with
    // ResponseParameters.retry_after - "the number of seconds left to wait before the request can be
    // repeated". The emulator never limits, and real limits are not published precisely.
    const injected = state.injected.find((item) => item.method === method && item.times > 0);
    if (injected) {
      injected.times -= 1;
      const parameters = injected.retry_after ? { retry_after: injected.retry_after } : undefined;
      return fail(new ApiError(injected.code, injected.description, parameters));
    }
    try {
      const result = handler(params, state, req, res);
      if (result !== undefined) res.json({ ok: true, result });
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      fail(error instanceof ApiError ? error : new ApiError(500, `Internal Server Error: ${error.message}`));
    }
    return undefined;
  });

  // ADDED file download (the emulator has none). Bot API: files are fetched with GET
  // https://api.telegram.org/file/bot<token>/<file_path>; an unknown path or token gives 404.
  router.get('/file/bot:token/*', (req, res) => {
    const file = req.params.token === state.token && state.filesByPath.get(req.params[0]);
    if (!file) return sendError(res, new ApiError(404, 'Not Found'));
    // Videos come from the test as metadata only: their download is file_size zero bytes.
    const bytes = file.bytes || Buffer.alloc(file.size);
    res.set('Content-Type', 'application/octet-stream');
    return res.send(bytes);
  });

  // The emulator's own client routes feed a store nothing reads any more: fail loudly instead.
  router.post(['/sendMessage', '/sendCommand', '/sendCallback', '/getUpdates', '/getUpdatesHistory'], (req, res) => {
    res.status(410).json({ ok: false, description: 'telegram-test-api client routes are replaced by /_compat/* '
      + '(see tests/telegram_emulator/server.js)' });
  });

  router.use('/_compat', testClientRouter(state));
  return router;
}

// ---------------------------------------------------------------------------------------------------
// /_compat/*: the simulated users and the test's view of the chats (JSON in, JSON out)

function testClientRouter(state) {
  const router = express.Router();
  const wrap = (handler) => (req, res) => {
    try {
      const result = handler(req, res);
      if (result !== undefined) res.json(result);
    } catch (error) {
      res.status(error instanceof ApiError ? error.code : 500).json({ ok: false, description: error.message });
    }
  };

  /** The user as Telegram describes it, remembered so the bot may answer in this private chat. */
  const userFrom = (req) => {
    const body = req.body.user || {};
    const user = { id: Number(req.params.userId), is_bot: false, first_name: body.first_name || 'User' };
    if (body.last_name) user.last_name = body.last_name;
    if (body.username) user.username = body.username;
    if (body.language_code) user.language_code = body.language_code;
    if (!Number.isSafeInteger(user.id) || user.id <= 0) throw badRequest('user id must be a positive integer');
    state.users.set(user.id, user);
    return user;
  };

  const baseMessage = (user) => ({
    message_id: state.nextMessageId(),
    from: user,
    chat: state.privateChat(user),
    date: now(),
  });

  const withCaption = (message, caption) => {
    if (caption) {
      message.caption = caption;
      const entities = commandEntities(caption);
      if (entities.length) message.caption_entities = entities;
    }
    return message;
  };

  router.get('/health', wrap(() => ({ ok: true, bot: state.bot })));

  // A text message; "/start CODE" and other commands get their bot_command entity as real clients do.
  router.post('/users/:userId/text', wrap((req) => {
    const message = { ...baseMessage(userFrom(req)), text: String(req.body.text) };
    const entities = commandEntities(message.text);
    if (entities.length) message.entities = entities;
    return { update_id: state.addUpdate('message', message) };
  }));

  // A photo: the test sends every size (smallest first, the original last) as base64 + width/height.
  router.post('/users/:userId/photo', wrap((req) => {
    const sizes = req.body.sizes || [];
    if (!sizes.length) throw badRequest('a photo needs at least one size');
    const photo = sizes.map((size) => {
      const file = state.addFile({ kind: 'photo', bytes: Buffer.from(size.data, 'base64') });
      return { file_id: file.file_id, file_unique_id: file.file_unique_id, file_size: file.size,
        width: size.width, height: size.height };
    });
    const message = withCaption({ ...baseMessage(userFrom(req)), photo }, req.body.caption);
    return { update_id: state.addUpdate('message', message) };
  }));

  // A file sent "as file": Message.document.
  router.post('/users/:userId/document', wrap((req) => {
    const { data, file_name: fileName, mime_type: mimeType, caption } = req.body;
    const file = state.addFile({ kind: 'document', bytes: Buffer.from(data, 'base64'), fileName });
    const document = { file_name: fileName, mime_type: mimeType, file_id: file.file_id,
      file_unique_id: file.file_unique_id, file_size: file.size };
    const message = withCaption({ ...baseMessage(userFrom(req)), document }, caption);
    return { update_id: state.addUpdate('message', message) };
  }));

  // A video: metadata only (its download, if ever requested, is file_size zero bytes).
  router.post('/users/:userId/video', wrap((req) => {
    const { duration, width, height, caption } = req.body;
    const { mime_type: mimeType, file_name: fileName, file_size: fileSize } = req.body;
    const file = state.addFile({ kind: 'video', bytes: null, size: fileSize, fileName });
    const video = { duration, width, height, file_name: fileName, mime_type: mimeType, file_id: file.file_id,
      file_unique_id: file.file_unique_id, file_size: fileSize };
    const message = withCaption({ ...baseMessage(userFrom(req)), video }, caption);
    return { update_id: state.addUpdate('message', message) };
  }));

  // An inline button press: a CallbackQuery with id, from, message (as it is now), chat_instance and
  // data. Only a button that is currently on the message can be pressed.
  router.post('/users/:userId/press', wrap((req) => {
    const user = userFrom(req);
    const record = state.botMessage(user.id, req.body.message_id);
    if (!record) throw badRequest(`no bot message ${req.body.message_id} in chat ${user.id}`);
    const inline = record.keyboard && record.keyboard.kind === 'inline' ? record.keyboard.rows.flat() : [];
    if (!inline.some((button) => button.callback_data === req.body.data)) {
      const data = JSON.stringify(req.body.data);
      throw badRequest(`message ${req.body.message_id} has no inline button with callback_data ${data}`);
    }
    const id = String(BigInt(state.bot.id) * 1000000n + BigInt(state.server.callbackId++));
    state.callbacks.set(id, { answered: false });
    // chat_instance: "Global identifier, uniquely corresponding to the chat to which the message with the
    // callback button was sent"; message: a snapshot, as the button was pressed.
    const query = { id, from: user, message: structuredClone(record.message),
      chat_instance: String(-7000000000 - user.id), data: req.body.data };
    return { update_id: state.addUpdate('callback_query', query) };
  }));

  // Deliver an update again with the same update_id (a duplicate delivery), whatever the bot's offset.
  router.post('/updates/:updateId/redeliver', wrap((req) => {
    state.redeliver(Number(req.params.updateId));
    return { ok: true };
  }));

  // What the bot sent to a chat, oldest first, as the user sees it now (after edits and deletions).
  // ?min_count=N&timeout=S waits up to S seconds for at least N messages.
  router.get('/chats/:chatId/messages', (req, res) => {
    const chatId = req.params.chatId;
    const minCount = Number(req.query.min_count || 0);
    const render = () => state.chatMessages(chatId).map((record) => ({
      message: record.message,
      keyboard: record.keyboard,
      document: record.document && record.document.bytes ? record.document.bytes.toString('base64') : null,
    }));
    const reply = () => res.json({ ok: true, messages: render() });
    if (state.chatMessages(chatId).length >= minCount) return reply();
    const onMessage = () => {
      if (state.chatMessages(chatId).length >= minCount) finish();
    };
    const finish = () => {
      clearTimeout(timer);
      state.off('botMessage', onMessage);
      if (!res.writableEnded && !res.destroyed) reply();
    };
    const timer = setTimeout(finish, Number(req.query.timeout || 0) * 1000);
    state.on('botMessage', onMessage);
    res.on('close', () => {
      clearTimeout(timer);
      state.off('botMessage', onMessage);
    });
    return undefined;
  });

  // Every Bot API call the bot made (optionally of one method), with its parameters and error if any.
  router.get('/api_calls', wrap((req) => {
    const method = req.query.method ? String(req.query.method).toLowerCase() : null;
    return { ok: true, calls: state.calls.filter((call) => !method || call.method.toLowerCase() === method) };
  }));

  // Make the next `times` calls of a method fail, e.g. {method: "sendMessage", error_code: 429, retry_after: 2}.
  router.post('/inject_error', wrap((req) => {
    const { method, error_code: code = 429, retry_after: retryAfter, times = 1 } = req.body;
    const description = req.body.description || (code === 429 ? `Too Many Requests: retry after ${retryAfter || 1}`
      : 'Bad Request: injected error');
    state.injected.push({ method: String(method).toLowerCase(), code, description,
      retry_after: code === 429 ? retryAfter || 1 : retryAfter, times });
    return { ok: true };
  }));

  return router;
}

// ---------------------------------------------------------------------------------------------------
// Start-up

async function main() {
  const options = parseArgs(process.argv.slice(2));
  // storeTimeout: the emulator's clean-up timer drops stored messages older than this many seconds
  // (default 60); Telegram keeps unconfirmed updates for 24 hours.
  const server = new TelegramServer({ host: '127.0.0.1', port: options.port || 9000, storeTimeout: 86400 });
  server.config.port = options.port; // normalizeConfig turns port 0 into 9000; 0 = any free port
  const state = new CompatState(server, options);

  // Mount the compatibility router in front of everything the emulator registered in its constructor
  // (its body parsers, client routes, bot routes and 404 handler). Express 4 has no public "prepend",
  // so the router's layer is moved to just after Express's own query/init layers.
  const app = server.webServer;
  app.use(compatRouter(state));
  const stack = app._router.stack;
  const layer = stack.pop();
  stack.splice(stack.findIndex((item) => item.name === 'expressInit') + 1, 0, layer);

  await server.start();
  const { port } = server.server.address();
  server.config.apiURL = `http://127.0.0.1:${port}`;

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 2000).unref();
    if (state.poller) state.poller.finish();
    server.server.forceShutdown(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop); // the test process is gone, or asked us to stop
  process.stdin.on('error', stop);
  process.stdin.resume();

  process.stdout.write(`READY ${port}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

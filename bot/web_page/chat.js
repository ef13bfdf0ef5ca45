// The web chat: shows the bot's messages with their buttons, sends texts, button presses and photos.
// Every message goes to the server, which runs the same dialog as Telegram; nothing is kept here
// (but the input box's unsent text, in this tab). One file, over 600 lines: the page has no build
// step and is served as it is; its parts are marked by the dashed headings below.
(function () {
  "use strict";

  var QUIET_CHOICES = ["放弃", "不同意", "取消"];
  var MANY_CHOICES = 7;
  var CONTACT_COMMANDS = ["上一步", "跳过", "查看", "修改", "帮助", "新建", "草稿", "已交", "进度"];
  var SUPERVISOR_COMMANDS = ["进度", "未交", "导出", "帮助"];
  var NOTICE_EVERY_MS = 60000;
  var RETRY_DELAYS_MS = [1000, 2000, 4000, 8000, 8000, 8000];

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute("content") || "" : "";
  }

  var csrf = meta("csrf-token");
  var state = meta("intake-state");
  var role = meta("intake-role");
  var uploadMax = parseInt(meta("upload-max"), 10) || 10000000;
  var videoMax = parseInt(meta("video-max"), 10) || 300000000;

  var list = document.getElementById("messages");
  var composer = document.getElementById("composer");
  var signin = document.getElementById("signin");
  var form = document.getElementById("send-form");
  var input = document.getElementById("text-input");
  var photos = document.getElementById("photo-input");
  var attach = document.querySelector(".attach");
  var quick = document.getElementById("quick");
  var statusLink = document.getElementById("status-link");
  var who = document.getElementById("who");

  var queue = Promise.resolve();
  var typing = null;

  // Drawing ---------------------------------------------------------------------------------------

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function scrollDown() {
    list.scrollTop = list.scrollHeight;
  }

  function row(kind) {
    var line = element("div", "row " + kind);
    list.appendChild(line);
    return line;
  }

  // Photos sent at once: each is answered “已收到第3张照片。” and the question still asked (the first
  // photo's caption). The notes become one line, “已收到3张照片”, and an earlier copy of the same
  // question is folded away: the question shown is the last one, beside its photo, large.
  var RECEIPT = /^已收到第(\d+)(张照片|个视频)。\n/;
  var receipts = null;

  function foldReceipt(reply) {
    var found = RECEIPT.exec(reply.text || "");
    if (!found) {
      receipts = null;
      return reply;
    }
    var text = reply.text.slice(found[0].length);
    var note = "已收到" + found[1] + found[2];
    if (receipts && receipts.parentNode) receipts.parentNode.removeChild(receipts);
    var heading = text.split("】")[0].split("（共")[0];
    Array.prototype.forEach.call(list.querySelectorAll(".row.bot.asks-caption"), function (older) {
      if (older.getAttribute("data-heading").split("（共")[0] === heading) older.classList.add("folded");
    });
    receipts = row("system receipt");
    receipts.appendChild(element("div", "bubble", note));
    var copy = {};
    Object.keys(reply).forEach(function (key) {
      copy[key] = reply[key];
    });
    copy.text = text;
    return copy;
  }

  function showBot(reply, onChoose) {
    reply = foldReceipt(reply);
    var line = row("bot");
    var one = reply.pictures && reply.pictures.length === 1 && reply.pictures[0].kind !== "video";
    if (one && /^【/.test(reply.text || "")) {
      line.classList.add("asks-caption"); // a question about the one photo it shows
      line.setAttribute("data-heading", reply.text.split("】")[0]);
    }
    var bubble = element("div", "bubble", reply.text);
    line.appendChild(bubble);
    if (reply.pictures && reply.pictures.length) addPictures(bubble, reply.pictures);
    if (reply.document) addDocument(bubble, reply.document);
    addChoices(line, reply, onChoose);
    // A question taller than the screen (a long list of choices) is shown from its start.
    if (line.offsetHeight > list.clientHeight) line.scrollIntoView({ block: "start" });
    else scrollDown();
  }

  // Which buttons still answer. A notice's buttons are commands (修改第4号, 查看4号), never stale:
  // they work until used. A question's buttons and a list's (草稿, 已交) answer while they are the
  // menu the server holds: until a newer one is shown, a reply with a menu token, with buttons or
  // without (a question to type the answer to). 组联部's buttons answer only the reply that showed
  // them. ``current`` is the last menu shown.
  var current = null;

  function isNotice(menu) {
    return /^n\./.test(menu || "");
  }

  // A list the contact picks from again and again (下载 #1, then 查看 #3): kept while it is current.
  function lasting(group) {
    return Boolean(group) && role !== "supervisor" && /^m/.test(group.getAttribute("data-menu") || "");
  }

  function addChoices(line, reply, onChoose) {
    if (!reply.options || !reply.options.length) return;
    var choices = element("div", reply.options.length >= MANY_CHOICES ? "choices many" : "choices");
    choices.setAttribute("data-menu", reply.menu || "");
    // The privacy notice is longer than a small phone's screen: its 同意/不同意 stay in sight.
    if (/^i/.test(reply.menu || "")) choices.classList.add("consent");
    var notice = isNotice(reply.menu);
    if (!notice) current = choices;
    reply.options.forEach(function (option, index) {
      var quiet = QUIET_CHOICES.indexOf(option) >= 0 && reply.options.length > 1;
      var button = element("button", quiet ? "choice quiet" : "choice", option);
      button.type = "button";
      button.addEventListener("click", function () {
        if (button.disabled) return;
        closeChoices(choices, button); // until the answer comes: one press is sent once
        onChoose(String(index + 1), reply.menu, option);
      });
      choices.appendChild(button);
    });
    line.appendChild(choices);
  }

  // The menus no longer answered: all but the notices' and, when it lasts, the current one (opened
  // again once its press is answered without a newer menu).
  function retireMenus(keepCurrent) {
    Array.prototype.forEach.call(list.querySelectorAll(".choices"), function (group) {
      if (isNotice(group.getAttribute("data-menu"))) return;
      if (keepCurrent && group === current && lasting(group)) {
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (button) {
          button.disabled = false;
        });
        return;
      }
      closeChoices(group);
    });
  }

  function newerMenu(replies) {
    return replies.some(function (reply) {
      return Boolean(reply.menu) && !isNotice(reply.menu);
    });
  }

  // The photos and videos a message is about: thumbnails; a photo tapped opens large, a video plays.
  function addPictures(bubble, pictures) {
    // one photo (a caption's question): large, so it is clear which photo is meant
    var strip = element("div", pictures.length === 1 ? "pictures single" : "pictures");
    var photos = 0;
    var videos = 0;
    pictures.forEach(function (picture) {
      if (picture.kind === "video") {
        videos += 1;
        var video = element("video", "thumb video");
        video.controls = true;
        video.preload = "metadata";
        video.setAttribute("playsinline", "");
        video.setAttribute("aria-label", "第" + videos + "个视频");
        video.src = picture.url;
        strip.appendChild(video);
        return;
      }
      photos += 1;
      var image = element("img", "thumb");
      image.alt = "第" + photos + "张照片（点按放大）";
      image.loading = "lazy";
      image.src = picture.url;
      image.addEventListener("load", scrollDown);
      image.addEventListener("click", function () {
        enlarge(picture.url, image.alt);
      });
      strip.appendChild(image);
    });
    bubble.insertBefore(strip, bubble.firstChild);
  }

  function enlarge(url, alt) {
    var shade = element("div", "enlarged");
    shade.setAttribute("role", "dialog");
    shade.setAttribute("aria-label", "照片（点按关闭）");
    var image = element("img");
    image.src = url;
    image.alt = alt.replace("（点按放大）", "");
    shade.appendChild(image);
    shade.appendChild(element("span", "enlarged-hint", "点按任意处关闭"));
    shade.addEventListener("click", function () {
      shade.remove();
    });
    document.body.appendChild(shade);
  }

  function addDocument(bubble, file) {
    var link = element("a", "document");
    link.href = file.url;
    link.setAttribute("download", "");
    var icon = file.icon || "W";
    link.appendChild(element("span", "document-icon" + (icon === "ZIP" ? " zip" : ""), icon));
    var label = element("span", "document-label");
    label.appendChild(element("strong", "", file.label || "下载文件"));
    label.appendChild(element("small", "", file.name));
    link.appendChild(label);
    bubble.appendChild(link);
    if (/MicroMessenger/i.test(navigator.userAgent)) {
      bubble.appendChild(
        element("small", "document-hint", "如果在微信里下载不了，请点右上角“…”，选择“在浏览器打开”后再下载。")
      );
    }
  }

  function closeChoices(only, chosen) {
    var groups = only ? [only] : list.querySelectorAll(".choices");
    Array.prototype.forEach.call(groups, function (group) {
      Array.prototype.forEach.call(group.querySelectorAll("button"), function (button) {
        button.disabled = true;
        if (button === chosen) button.classList.add("chosen");
      });
    });
  }

  function showUser(text) {
    row("user").appendChild(element("div", "bubble", text));
    scrollDown();
  }

  function isVideo(file) {
    return /^video\//.test(file.type || "") || /\.(mp4|mov|m4v)$/i.test(file.name || "");
  }

  function showVideo(file) {
    var size = (file.size / 1000000).toFixed(1);
    var bubble = element("div", "bubble", "视频：" + (file.name || "视频") + "（" + size + " MB）");
    row("user").appendChild(bubble);
    scrollDown();
    return bubble;
  }

  // A large file's upload shows how far it has got (a 200 MB video takes minutes on a phone).
  var PROGRESS_FROM_BYTES = 2000000;

  function progressBar(bubble) {
    var bar = element("div", "upload");
    var meter = element("progress");
    meter.max = 100;
    meter.value = 0;
    var label = element("small", "", "正在上传 0%");
    bar.appendChild(meter);
    bar.appendChild(label);
    bubble.appendChild(bar);
    return function (sent, total) {
      var percent = total ? Math.floor((sent * 100) / total) : 0;
      meter.value = percent;
      label.textContent = percent >= 100 ? "已上传，正在检查……" : "正在上传 " + percent + "%";
    };
  }

  // Leaving the page mid-upload (a 200 MB video) would lose it: the browser asks first.
  var uploading = 0;

  window.addEventListener("beforeunload", function (event) {
    if (!uploading) return undefined;
    event.preventDefault();
    event.returnValue = "";
    return "";
  });

  // An upload with XMLHttpRequest, the one browser API that reports an upload's progress.
  function upload(path, file, headers, onProgress) {
    uploading += 1;
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      xhr.withCredentials = true;
      Object.keys(headers).forEach(function (name) {
        xhr.setRequestHeader(name, headers[name]);
      });
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      if (onProgress) {
        xhr.upload.addEventListener("progress", function (event) {
          onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
        });
      }
      xhr.addEventListener("load", function () {
        var data = {};
        try {
          data = JSON.parse(xhr.responseText);
        } catch (error) {
          data = {};
        }
        resolve({ status: xhr.status, data: data });
      });
      xhr.addEventListener("error", function () {
        resolve({ status: 0, data: { error: "网络连接失败，请检查网络后再试。您已填写的内容都已保存。" } });
      });
      xhr.send(file);
    }).then(function (result) {
      uploading -= 1;
      return result;
    });
  }

  function showPhoto(file) {
    var bubble = element("div", "bubble photo");
    var image = element("img");
    image.alt = file.name || "照片";
    image.src = URL.createObjectURL(file);
    image.addEventListener("load", scrollDown);
    image.addEventListener("error", function () {
      // not a picture this browser can show (a file named .jpg that is none): its name, no broken icon
      bubble.textContent = "文件：" + (file.name || "照片");
      bubble.className = "bubble";
    });
    bubble.appendChild(image);
    row("user").appendChild(bubble);
    scrollDown();
    return bubble;
  }

  // A notice: a text (a 退回, a reminder), or a file made for this person later (the videos' ZIP).
  // Each has the id of its line in the conversation: one that comes again (the stream reconnected
  // after a connection that died, the poll) is shown once. ``seen`` is the last line the page has.
  var shownNotices = {};
  var seen = 0;

  function see(id) {
    if (typeof id === "number" && id > seen) seen = id;
  }

  function showNotice(notice) {
    if (notice && typeof notice.id === "number") {
      if (shownNotices[notice.id]) return;
      shownNotices[notice.id] = true;
      see(notice.id);
    }
    var bubble = element("div", "bubble notice");
    bubble.appendChild(element("strong", "notice-title", "通知"));
    bubble.appendChild(element("div", "", typeof notice === "string" ? notice : notice.text || ""));
    if (notice && notice.document) addDocument(bubble, notice.document);
    var line = row("bot");
    line.appendChild(bubble);
    if (notice && typeof notice !== "string") addChoices(line, notice, choose);
    scrollDown();
  }

  // On opening, the end of the conversation is in sight (a long help message is not what is new).
  function showNewest() {
    var last = list.lastElementChild;
    if (last && last.offsetHeight > list.clientHeight && last.querySelector(".choices")) {
      last.scrollIntoView({ block: "start" }); // a long list's question stays in sight
    } else {
      scrollDown();
    }
  }

  function showSystem(text) {
    row("system").appendChild(element("div", "bubble", text));
    scrollDown();
  }

  function showTyping(on) {
    if (on && !typing) {
      typing = row("bot typing");
      var dots = element("div", "bubble dots");
      dots.setAttribute("aria-label", "正在回复");
      for (var i = 0; i < 3; i += 1) dots.appendChild(element("span"));
      typing.appendChild(dots);
      scrollDown();
    } else if (!on && typing) {
      typing.remove();
      typing = null;
    }
  }

  // The input box ----------------------------------------------------------------------------------
  // What is in it (typed, or given back after a refusal or for 修改) is kept for this tab and this
  // person until sent: a reload or a phone that dropped the page loses nothing.
  function keptKey() {
    return "intake-input:" + role + ":" + (who.textContent || "");
  }

  function keepInput() {
    try {
      if (input.value) sessionStorage.setItem(keptKey(), input.value);
      else sessionStorage.removeItem(keptKey());
    } catch (error) {
      // storage refused (a private window): the box still works
    }
  }

  function setInput(text) {
    input.value = text;
    grow();
    keepInput();
  }

  function restoreInput() {
    var kept = "";
    try {
      kept = sessionStorage.getItem(keptKey()) || "";
    } catch (error) {
      kept = "";
    }
    if (kept && !input.value) {
      input.value = kept;
      grow();
    }
  }

  // Talking to the server ---------------------------------------------------------------------------

  function request(method, path, body, headers) {
    var options = { method: method, credentials: "same-origin", headers: headers || {} };
    if (method !== "GET") options.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) options.body = body;
    return fetch(path, options).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { status: response.status, data: data };
          });
      },
      function () {
        return { status: 0, data: { error: "网络连接失败，请检查网络后再试。您已填写的内容都已保存。" } };
      }
    );
  }

  function postJson(path, payload) {
    return request("POST", path, JSON.stringify(payload), { "Content-Type": "application/json" });
  }

  // Each message carries an id of its own. One that met a dropped network, a restarting service or
  // a connection too slow to carry it in time (no answer, 503, 408) is sent again with the same id,
  // so the server takes it once however many copies arrive.
  function messageId() {
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function reliably(attempt) {
    var tries = 0;
    var warned = false;
    function go() {
      return attempt().then(function (result) {
        var again = result.status === 0 || result.status === 503 || result.status === 408;
        if (again && tries < RETRY_DELAYS_MS.length) {
          if (!warned) showSystem("网络不稳定，正在重新发送……");
          warned = true;
          var delay = RETRY_DELAYS_MS[tries];
          tries += 1;
          return new Promise(function (resolve) {
            window.setTimeout(resolve, delay);
          }).then(go);
        }
        return result;
      });
    }
    return go();
  }

  function handleRefusal(result) {
    if (result.status === 401) {
      state = "guest";
      showSystem(result.data.error || "请先登录。");
      showSignIn();
      return true;
    }
    if (result.status !== 200) {
      showSystem(result.data.error || "出错了，请稍后再试。");
      return true;
    }
    return false;
  }

  function showReplies(replies) {
    if (replies.length) retireMenus(!newerMenu(replies));
    replies.forEach(function (reply) {
      showBot(reply, choose);
    });
    fillIn(replies);
  }

  // A long answer asked again to be edited (主要事迹 after a 退回) comes in the input box, to change
  // rather than type again; left there untouched, it goes when the next question comes.
  var filledIn = "";

  function fillIn(replies) {
    var given = "";
    replies.forEach(function (reply) {
      if (reply.fill_in) given = reply.fill_in;
    });
    var refused = replies.some(function (reply) { return reply.refused; });
    if (filledIn && input.value === filledIn && given !== filledIn) setInput("");
    filledIn = "";
    if (!given || refused || input.value) return;
    setInput(given);
    filledIn = given;
    showSystem("当前内容已放入输入框，改好后发送即可。");
  }

  // One message at a time, in the order they were sent.
  function enqueue(work) {
    queue = queue.then(work, work);
    return queue;
  }

  function exchange(path, payload) {
    showTyping(true);
    payload.id = messageId();
    return reliably(function () {
      return postJson(path, payload);
    }).then(function (result) {
      showTyping(false);
      if (handleRefusal(result)) {
        retireMenus(true); // not taken: the list pressed still answers
        return [];
      }
      showReplies(result.data.replies || []);
      return result.data.replies || [];
    });
  }

  function send(text, menu, shown) {
    return enqueue(function () {
      return exchange("/api/messages", menu ? { text: text, menu: menu, shown: shown } : { text: text });
    });
  }

  // A long answer turned down (one 字 too many, a rule across answers) goes back into the input box,
  // to be corrected rather than typed again.
  var KEEP_REFUSED_FROM = 20;

  function sendTyped(text) {
    return enqueue(function () {
      return exchange("/api/messages", { text: text }).then(function (replies) {
        var refused = (replies || []).some(function (reply) { return reply.refused; });
        if (refused && text.length >= KEEP_REFUSED_FROM && !input.value) {
          setInput(text);
          showSystem("刚才发送的内容已放回输入框，改好后再发送。");
        }
      });
    });
  }

  function choose(number, menu, label) {
    showUser(label);
    if (state !== "bound") {
      enqueue(function () {
        return consent(number, menu);
      });
      return;
    }
    var downloading = /^下载/.test(label);
    send(number, menu, label).then(function (replies) {
      // 下载 #1 is one tap: the Word file it answers with starts downloading at once (its card stays,
      // to download it again)
      if (downloading && (replies || []).some(function (reply) { return reply.document; })) {
        var links = list.querySelectorAll("a.document");
        if (links.length) links[links.length - 1].click();
      }
    });
  }

  // A large photo is made smaller here, before it is sent: a form needs a clear photo, not 40 MP,
  // and a phone's upload is slow. A small one goes as it is; a video always does.
  var SCALE_FROM_BYTES = 3000000;
  var KEEP_SIDE = 3000;
  var SCALED_SIDE = 2560;
  var SCALED_QUALITY = 0.85;

  function megabytes(size) {
    return (size / 1000000).toFixed(1);
  }

  function named(blob, name, type) {
    try {
      return new File([blob], name, { type: type });
    } catch (error) {
      blob.name = name; // an old browser without the File constructor
      return blob;
    }
  }

  function decode(file) {
    return new Promise(function (resolve) {
      var url = URL.createObjectURL(file);
      var image = new Image();
      image.onload = function () {
        resolve({ image: image, url: url });
      };
      image.onerror = function () {
        URL.revokeObjectURL(url);
        resolve(null);
      };
      image.src = url;
    });
  }

  // The photo to send: the original, or a JPEG at most SCALED_SIDE px long (upright: the browser
  // applies the EXIF orientation when it draws), whichever is smaller.
  function smaller(file) {
    if (file.size < SCALE_FROM_BYTES) return Promise.resolve(file);
    return decode(file).then(function (decoded) {
      if (!decoded) return file; // not a picture this browser can draw (HEIC on Android): as it is
      var image = decoded.image;
      var longest = Math.max(image.naturalWidth, image.naturalHeight);
      if ((longest <= KEEP_SIDE && file.size <= uploadMax) || !HTMLCanvasElement.prototype.toBlob) {
        URL.revokeObjectURL(decoded.url);
        return file;
      }
      var scale = Math.min(1, SCALED_SIDE / longest);
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
      canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff"; // a transparent PNG's background, as Word would show it
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(decoded.url);
      return new Promise(function (resolve) {
        canvas.toBlob(
          function (blob) {
            if (!blob || blob.size >= file.size) {
              resolve(file);
              return;
            }
            var name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
            var scaled = named(blob, name, "image/jpeg");
            scaled.originalSize = file.size;
            resolve(scaled);
          },
          "image/jpeg",
          SCALED_QUALITY
        );
      });
    });
  }

  function tooLarge(file, video, limit) {
    var size = "（" + megabytes(file.size) + " MB）";
    var name = file.name ? "“" + file.name + "”" : "";
    var max = Math.round(limit / 1000000);
    if (video) {
      return "视频" + name + "太大" + size + "，没有发送。请发送不超过 " + max +
        " MB 的视频：可在手机上剪短，或用剪辑软件降低清晰度后导出为 MP4 再发送。";
    }
    return "照片" + name + "太大" + size + "，没有发送。请发送不超过 " + max +
      " MB 的照片：可在相册里用“编辑”裁剪后保存再发送，或截屏后发送截图。";
  }

  function sendPhoto(file) {
    return enqueue(function () {
      var video = isVideo(file);
      var limit = video ? videoMax : uploadMax;
      showTyping(!video && file.size >= SCALE_FROM_BYTES); // while a large photo is made smaller
      return (video ? Promise.resolve(file) : smaller(file)).then(function (ready) {
        showTyping(false);
        if (ready.size > limit) {
          // said before anything looks sent, with what to do
          showSystem(tooLarge(ready, video, limit));
          return undefined;
        }
        var bubble = video ? showVideo(ready) : showPhoto(ready);
        if (ready.originalSize) {
          bubble.appendChild(
            element("small", "photo-note", "原图 " + megabytes(ready.originalSize) + " MB，已缩小后发送")
          );
        }
        showTyping(true);
        var headers = {
          "Content-Type": ready.type || (video ? "video/mp4" : "application/octet-stream"),
          "X-File-Name": encodeURIComponent(ready.name || "photo"),
          "X-Message-Id": messageId(),
        };
        var onProgress = ready.size >= PROGRESS_FROM_BYTES ? progressBar(bubble) : null;
        return reliably(function () {
          return upload("/api/upload", ready, headers, onProgress);
        }).then(function (result) {
          showTyping(false);
          var done = bubble.querySelector(".upload small");
          if (done && result.status === 200) done.textContent = "已上传";
          if (!handleRefusal(result)) showReplies(result.data.replies || []);
        });
      });
    });
  }

  // Signing in ----------------------------------------------------------------------------------------

  function showSignIn() {
    composer.hidden = true;
    signin.hidden = false;
    document.body.classList.add("guest");
  }

  var SAME_TAP_MS = 1000;
  var lastChip = null;
  var lastChipAt = 0;

  function showChat() {
    signin.hidden = true;
    composer.hidden = false;
    document.body.classList.remove("guest");
    statusLink.hidden = role !== "supervisor";
    attach.hidden = role === "supervisor"; // 组联部 review; they send no photos
    quick.textContent = "";
    (role === "supervisor" ? SUPERVISOR_COMMANDS : CONTACT_COMMANDS).forEach(function (word) {
      var chip = element("button", "chip", word);
      chip.type = "button";
      chip.addEventListener("click", function () {
        var now = Date.now();
        if (chip === lastChip && now - lastChipAt < SAME_TAP_MS) return; // a double tap sends once
        lastChip = chip;
        lastChipAt = now;
        showUser(word);
        send(word);
      });
      quick.appendChild(chip);
    });
  }

  function join(code) {
    if (state === "bound") showChat();
    showTyping(true);
    return request("GET", "/api/join?code=" + encodeURIComponent(code)).then(function (result) {
      showTyping(false);
      if (handleRefusal(result)) return;
      var replies = result.data.replies || [];
      showReplies(replies);
      if (!replies.some(function (reply) { return reply.options && reply.options.length; })) showSignIn();
    });
  }

  function consent(number, menu) {
    showTyping(true);
    return postJson("/api/consent", { text: number, menu: menu }).then(function (result) {
      showTyping(false);
      if (handleRefusal(result)) return;
      if (result.data.bound) {
        state = "bound";
        csrf = result.data.csrf;
        role = result.data.role || "";
        who.textContent = result.data.who || "";
        history.replaceState(null, "", "/");
        showChat();
        listen(true);
      } else {
        showSignIn();
      }
      showReplies(result.data.replies || []);
    });
  }

  // The conversation so far (its last lines, kept by the server), under a line that says so.
  function showHistory(lines) {
    if (!lines.length) return;
    lines.forEach(function (line) {
      see(line.id);
      if (line.speaker === "notice") showNotice(line);
      else if (line.speaker === "bot") showBot(line, choose);
      else if (line.photo !== undefined) showStoredPhoto(line.photo);
      else if (line.video !== undefined) row("user").appendChild(element("div", "bubble", "视频：" + line.video));
      else showUser(line.text || "");
    });
    retireMenus(true);
    row("system divider").appendChild(element("div", "bubble", "以上是之前的对话"));
  }

  function showStoredPhoto(sha) {
    var bubble = element("div", "bubble photo");
    if (sha) {
      var image = element("img");
      image.alt = "照片";
      image.src = "/files/photos/" + sha;
      image.addEventListener("load", scrollDown);
      image.addEventListener("error", function () {
        bubble.textContent = "照片（已不在）";
        bubble.className = "bubble";
      });
      bubble.appendChild(image);
    } else {
      bubble.textContent = "照片（没有收下）";
      bubble.className = "bubble";
    }
    row("user").appendChild(bubble);
  }

  function start() {
    showChat();
    showTyping(true);
    return postJson("/api/start", {}).then(function (result) {
      showTyping(false);
      if (handleRefusal(result)) return;
      showHistory(result.data.history || []);
      var replies = result.data.replies || [];
      var notices = result.data.notices || [];
      // The notices that came meanwhile are the newest: after the greeting, unless it asks a question
      // (the answer box goes with the question, which stays last).
      var asks = replies.some(function (reply) { return reply.options && reply.options.length; });
      if (asks) notices.forEach(showNotice);
      showReplies(replies);
      if (!asks) notices.forEach(showNotice);
      see(result.data.seen);
      restoreInput();
      showNewest();
      listen();
      askAboutUnit();
    });
  }

  // Notices arrive the moment they are sent while the page is open (Server-Sent Events; the browser
  // reconnects by itself after a dropped network or a restart, and the stream goes on after the last
  // notice it had). Every open tab gets every notice. The stream beats every 20 s: one silent for
  // longer died without saying so (a phone changing networks), and is opened again. The minute poll
  // is the fallback for a browser without EventSource, or a stream the server turned down.
  var stream = null;
  var heardAt = 0;
  var SILENT_MS = 50000;

  // fromNow: the page has not loaded the conversation (just signed in): only what comes from now on.
  function listen(fromNow) {
    if (stream || state !== "bound" || !window.EventSource) return;
    stream = new EventSource(fromNow ? "/api/events" : "/api/events?after=" + seen);
    heardAt = Date.now();
    var heard = function () {
      heardAt = Date.now();
    };
    stream.addEventListener("open", heard);
    stream.addEventListener("beat", function (event) {
      heard();
      see(parseInt(event.data, 10)); // the stream's notices up to there came before it
    });
    stream.addEventListener("notice", function (event) {
      heard();
      var data = {};
      try {
        data = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (data.text) showNotice(data);
    });
    stream.addEventListener("error", function () {
      if (stream && stream.readyState === EventSource.CLOSED) stream = null;
    });
    // Newer tabs of this person took its place (a person keeps a few streams at most): this tab polls
    // until it is looked at again, then listens again, and the tab in use always hears at once.
    stream.addEventListener("replaced", function () {
      if (stream) stream.close();
      stream = null;
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && !stream) {
      listen();
      pollNotices();
    }
  });

  function streamAlive() {
    if (!stream || stream.readyState !== EventSource.OPEN) return false;
    if (Date.now() - heardAt < SILENT_MS) return true;
    stream.close();
    stream = null;
    listen();
    return false;
  }

  // The status page links each unit to its submissions: “/?unit=鱼峰区妇联” opens the chat and asks.
  function askAboutUnit() {
    var unit = new URLSearchParams(location.search).get("unit");
    if (role !== "supervisor" || !unit || unit.length > 60) return;
    history.replaceState(null, "", "/");
    showUser("单位 " + unit);
    send("单位 " + unit);
  }

  function pollNotices() {
    if (streamAlive()) return;
    if (state !== "bound" || document.visibilityState !== "visible") return;
    enqueue(function () {
      return postJson("/api/notices", { after: seen }).then(function (result) {
        if (result.status !== 200) return;
        (result.data.notices || []).forEach(showNotice);
        see(result.data.seen);
      });
    });
  }

  // The composer ----------------------------------------------------------------------------------------

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 160) + "px";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    setInput("");
    showUser(text);
    sendTyped(text);
  });

  input.addEventListener("input", function () {
    grow();
    keepInput();
  });
  input.addEventListener("keydown", function (event) {
    var desktop = window.matchMedia && window.matchMedia("(pointer: fine)").matches;
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && desktop) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  photos.addEventListener("change", function () {
    var chosen = Array.prototype.slice.call(photos.files || []);
    photos.value = "";
    chosen.forEach(sendPhoto);
  });

  // Start ------------------------------------------------------------------------------------------------

  var code = new URLSearchParams(location.search).get("code");
  if (code && code.trim()) {
    join(code.trim());
  } else if (state === "bound") {
    start();
  } else {
    showSignIn();
  }
  window.setInterval(pollNotices, NOTICE_EVERY_MS);
})();

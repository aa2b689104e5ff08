/* chat.c: renders a conversation in the model's chat-template family (ChatML, Llama-3, Llama-2). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->len + n < o->cap && o->buf)
        memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* ChatML templates (SmolLM2, Qwen) often insert a default system message when the conversation
 * has none; find it as the literal text between "<|im_start|>system\n" and "<|im_end|>". */
static int default_system(const fsk_model *m, const char **text, size_t *len)
{
    struct fsk_gguf_str t;
    if (fsk_gguf_get_str(m->gguf, "tokenizer.chat_template", &t, NULL) != FSK_OK)
        return 0;
    static const char open[] = "<|im_start|>system\n", close_[] = "<|im_end|>";
    static const char cond[] = "!= 'system'";
    int conditional = 0;
    for (uint64_t i = 0; i + sizeof cond - 1 <= t.len && !conditional; i++)
        conditional = memcmp(t.ptr + i, cond, sizeof cond - 1) == 0;
    if (!conditional)
        return 0;
    for (uint64_t i = 0; i + sizeof open - 1 <= t.len; i++) {
        if (memcmp(t.ptr + i, open, sizeof open - 1) != 0)
            continue;
        uint64_t a = i + sizeof open - 1;
        for (uint64_t j = a; j + sizeof close_ - 1 <= t.len; j++) {
            if (t.ptr[j] == '\'' || t.ptr[j] == '"' || t.ptr[j] == '{')
                break; /* not a plain literal */
            if (memcmp(t.ptr + j, close_, sizeof close_ - 1) == 0) {
                *text = t.ptr + a;
                *len = (size_t)(j - a);
                return 1;
            }
        }
    }
    return 0;
}

static void chatml(const fsk_model *m, const fsk_chat_msg *msgs, size_t n, int add_assistant, struct out *o)
{
    const char *sys;
    size_t sys_len;
    if ((n == 0 || strcmp(msgs[0].role, "system") != 0) && default_system(m, &sys, &sys_len)) {
        puts_(o, "<|im_start|>system\n");
        put(o, sys, sys_len);
        puts_(o, "<|im_end|>\n");
    }
    for (size_t i = 0; i < n; i++) {
        puts_(o, "<|im_start|>");
        puts_(o, msgs[i].role);
        puts_(o, "\n");
        puts_(o, msgs[i].content);
        puts_(o, "<|im_end|>\n");
    }
    if (add_assistant)
        puts_(o, "<|im_start|>assistant\n");
}

static void llama3(const fsk_chat_msg *msgs, size_t n, int add_assistant, struct out *o)
{
    for (size_t i = 0; i < n; i++) {
        puts_(o, "<|start_header_id|>");
        puts_(o, msgs[i].role);
        puts_(o, "<|end_header_id|>\n\n");
        puts_(o, msgs[i].content);
        puts_(o, "<|eot_id|>");
    }
    if (add_assistant)
        puts_(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* [INST] user [/INST] answer </s><s>[INST] ... with the system text folded into the first turn. */
static void llama2(const fsk_chat_msg *msgs, size_t n, struct out *o)
{
    size_t i = 0;
    const char *sys = NULL;
    if (n > 0 && strcmp(msgs[0].role, "system") == 0)
        sys = msgs[i++].content;
    int first = 1;
    for (; i < n; i++) {
        if (strcmp(msgs[i].role, "user") == 0) {
            if (!first)
                puts_(o, "<s>");
            puts_(o, "[INST] ");
            if (sys && first) {
                puts_(o, "<<SYS>>\n");
                puts_(o, sys);
                puts_(o, "\n<</SYS>>\n\n");
            }
            puts_(o, msgs[i].content);
            puts_(o, " [/INST]");
            first = 0;
        } else {
            puts_(o, " ");
            puts_(o, msgs[i].content);
            puts_(o, " </s>");
        }
    }
}

FSK_API fsk_status fsk_chat_format(const fsk_model *m, const fsk_chat_msg *msgs, size_t n,
                                   int add_assistant, char *buf, size_t cap, size_t *n_out, fsk_error *err)
{
    const char *bad = NULL;
    if (!m || (!msgs && n) || !n_out)
        bad = "fsk_chat_format: NULL argument";
    for (size_t i = 0; !bad && i < n; i++) {
        if (!msgs[i].role || !msgs[i].content)
            bad = "fsk_chat_format: a message has a NULL role or content";
        else if (strcmp(msgs[i].role, "system") && strcmp(msgs[i].role, "user") &&
                 strcmp(msgs[i].role, "assistant"))
            bad = "fsk_chat_format: role must be system, user or assistant";
    }
    if (bad) {
        if (err) {
            err->status = FSK_ERR_INVALID_ARG;
            snprintf(err->message, sizeof err->message, "%s", bad);
        }
        return FSK_ERR_INVALID_ARG;
    }
    struct out o = {buf, cap, 0};
    switch (m->chat) {
    case FSK_CHAT_LLAMA3: llama3(msgs, n, add_assistant, &o); break;
    case FSK_CHAT_LLAMA2: llama2(msgs, n, &o); break;
    default: chatml(m, msgs, n, add_assistant, &o); break;
    }
    *n_out = o.len + 1;
    if (!buf || o.len + 1 > cap) {
        if (err) {
            err->status = FSK_ERR_INVALID_ARG;
            snprintf(err->message, sizeof err->message, "chat text needs %zu bytes, the buffer has %zu",
                     o.len + 1, cap);
        }
        return FSK_ERR_INVALID_ARG;
    }
    buf[o.len] = '\0';
    return FSK_OK;
}

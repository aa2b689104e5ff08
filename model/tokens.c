/* tokens.c: the public tokenizer calls, over the model's tokenizer. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "llama.h"
#include "tokenizer.h"

static fsk_status bad_arg(fsk_error *err, const char *what)
{
    if (err) {
        err->status = FSK_ERR_INVALID_ARG;
        snprintf(err->message, sizeof err->message, "%s", what);
    }
    return FSK_ERR_INVALID_ARG;
}

FSK_API fsk_status fsk_tokenize(const fsk_model *m, const char *text, size_t len, int add_bos,
                                int parse_special, int32_t *ids, size_t cap, size_t *n_out, fsk_error *err)
{
    if (!m || (!text && len) || !n_out || (!ids && cap))
        return bad_arg(err, "fsk_tokenize: NULL argument");
    int32_t bos = fsk_tokenizer_bos(m->tok);
    size_t lead = add_bos && bos >= 0 && fsk_tokenizer_add_bos(m->tok) ? 1 : 0;
    size_t n = 0;
    fsk_status st = fsk_tokenizer_encode(m->tok, text ? text : "", len, parse_special,
                                         cap > lead ? ids + lead : NULL, cap > lead ? cap - lead : 0,
                                         &n, err);
    *n_out = n + lead;
    if (st != FSK_OK)
        return st;
    if (n + lead > cap) /* the text fit in 0 ids, BOS does not */
        return bad_arg(err, "fsk_tokenize: no room for the BOS token");
    if (lead)
        ids[0] = bos;
    return FSK_OK;
}

FSK_API fsk_status fsk_detokenize(const fsk_model *m, const int32_t *ids, size_t n, char *buf, size_t cap,
                                  size_t *n_out, fsk_error *err)
{
    if (!m || (!ids && n) || !n_out || (!buf && cap))
        return bad_arg(err, "fsk_detokenize: NULL argument");
    return fsk_tokenizer_decode(m->tok, ids, n, 0, buf, cap, n_out, err);
}

FSK_API int fsk_token_is_eog(const fsk_model *m, int32_t id)
{
    return m ? fsk_tokenizer_is_eog(m->tok, id) : 0;
}

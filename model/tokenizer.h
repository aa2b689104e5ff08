/* tokenizer.h: GGUF tokenizers, token for token as llama.cpp: byte-level BPE (tokenizer.ggml.model
 * "gpt2") and SentencePiece BPE ("llama": TinyLlama, Llama 2). */
#ifndef FSK_TOKENIZER_H
#define FSK_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "ffnskip.h"
#include "gguf.h"

typedef struct fsk_tokenizer fsk_tokenizer;

/* tokenizer.ggml.token_type values (llama.cpp's llama_token_type). */
enum fsk_token_type {
    FSK_TOKEN_UNDEFINED = 0,
    FSK_TOKEN_NORMAL = 1,
    FSK_TOKEN_UNKNOWN = 2,
    FSK_TOKEN_CONTROL = 3,
    FSK_TOKEN_USER_DEFINED = 4,
    FSK_TOKEN_UNUSED = 5,
    FSK_TOKEN_BYTE = 6
};

/* Everything the tokenizer is built from; what fsk_tokenizer_create reads from a GGUF. Strings are
 * copied, so the arrays need only live through the call. */
struct fsk_tokenizer_spec {
    const char *model;           /* tokenizer.ggml.model: "gpt2" (also NULL) or "llama" */
    size_t n_tokens;
    const char *const *tokens;   /* gpt2: GPT-2 byte-encoded text ("Ġthe"); llama: spaces as U+2581
                                  * ("▁the"), bytes as "<0x0A>"; control tokens as is */
    const size_t *token_lens;    /* NULL: every token is NUL-terminated */
    const int32_t *types;        /* enum fsk_token_type per token; NULL: all normal */
    const float *scores;         /* llama: per token, the higher merged first; NULL: all 0 */
    size_t n_merges;             /* gpt2 only: llama merges by score */
    const char *const *merges;   /* "left right", rank = index */
    const size_t *merge_lens;    /* NULL: NUL-terminated */
    const char *pre;             /* gpt2: tokenizer.ggml.pre, NULL: "default"; llama ignores it */
    int32_t bos, eos, eot, unk, pad; /* -1: none (eot -1: found by text, as llama.cpp does) */
    int add_bos;                 /* -1: the model's default (llama and llama3 pre: yes) */
    int add_space_prefix;        /* -1: the model's default (llama: yes); gpt2 ignores it */
};

/* Reads tokenizer.ggml.{model,pre,tokens,token_type,scores,merges,bos_token_id,eos_token_id,
 * eot_token_id,unknown_token_id,padding_token_id,add_bos_token,add_space_prefix}. model must be
 * "gpt2" (pre one of those fsk_tokenizer_create_from_spec accepts; merges required) or "llama"
 * (scores optional; pre and merges unread; absent ids default to llama.cpp's bos 1, eos 2,
 * unk 0). */
fsk_status fsk_tokenizer_create(fsk_tokenizer **out, const fsk_gguf *g, fsk_error *err);
/* "llama": SentencePiece BPE as llama.cpp's llm_tokenizer_spm: spaces become U+2581, a text
 * fragment at the start or after a special token gets one more in front (add_space_prefix), then
 * adjacent pieces merge highest score first (leftmost among equals); what stays no token falls
 * back to byte tokens <0xXX> (else the one-byte token, else unk; llama.cpp throws there).
 * "gpt2" pre-tokenizers by llama.cpp's names: "default" (also when absent); GPT-2's rules: "gpt2",
 * "gpt-2", "phi-2", "mpt", "olmo", "jais"; digits alone, then GPT-2 (SmolLM's): "starcoder",
 * "smollm", "refact", "command-r", "codeshell", "exaone", "minerva-7b"; llama3's: "llama3",
 * "llama-v3", "llama-bpe", "falcon3", "pixtral". Others: FSK_ERR_UNSUPPORTED. */
fsk_status fsk_tokenizer_create_from_spec(fsk_tokenizer **out,
                                          const struct fsk_tokenizer_spec *spec, fsk_error *err);
void fsk_tokenizer_free(fsk_tokenizer *tok);

/* Encodes len bytes of text (no BOS: see fsk_tokenizer_add_bos). With parse_special, control
 * tokens written literally in the text (<|im_start|>) become their ids; user-defined tokens are
 * always matched, as in llama.cpp. Invalid UTF-8 is read as llama.cpp reads it: gpt2 turns each
 * byte that does not start a well-formed-enough sequence into U+FFFD (encoded as its 3 bytes),
 * and re-encodes overlong forms shortest; sequences decoding above U+10FFFF (which make
 * llama.cpp throw) are treated like other invalid bytes. llama keeps the bytes as they are (a
 * lead byte takes the next bytes along, whatever they are) and byte-falls-back what is no token.
 * When cap is too small, fails with FSK_ERR_INVALID_ARG and *n_out is the count needed; ids may
 * be NULL when cap is 0.
 * Thread-safe: the tokenizer is read-only after creation. */
fsk_status fsk_tokenizer_encode(const fsk_tokenizer *tok, const char *text, size_t len,
                                int parse_special, int32_t *ids, size_t cap, size_t *n_out,
                                fsk_error *err);

uint32_t fsk_tokenizer_n_vocab(const fsk_tokenizer *tok);
/* -1 when the model has none. */
int32_t fsk_tokenizer_bos(const fsk_tokenizer *tok);
int32_t fsk_tokenizer_eos(const fsk_tokenizer *tok);
int32_t fsk_tokenizer_eot(const fsk_tokenizer *tok);
int32_t fsk_tokenizer_unk(const fsk_tokenizer *tok);
int32_t fsk_tokenizer_pad(const fsk_tokenizer *tok);
/* Whether a prompt should start with BOS (tokenizer.ggml.add_bos_token). */
int fsk_tokenizer_add_bos(const fsk_tokenizer *tok);
/* The pre-tokenizer family in use: "default", "gpt2", "starcoder" or "llama3"; "spm" for
 * SentencePiece ("llama") vocabularies. */
const char *fsk_tokenizer_pre_name(const fsk_tokenizer *tok);

/* The token's stored text (byte-encoded or with U+2581 for normal tokens); NULL for an id out of
 * range. */
const char *fsk_tokenizer_token_text(const fsk_tokenizer *tok, int32_t id, size_t *len);
/* The bytes the token stands for, as llama.cpp's token_to_piece (lstrip 0): normal tokens decoded
 * from the GPT-2 byte encoding (gpt2) or with U+2581 back to spaces (llama), byte tokens (llama)
 * their byte, user-defined as written, control and unknown as written when special is set and
 * empty otherwise, other types empty. NULL for an id out of range. */
const char *fsk_tokenizer_piece(const fsk_tokenizer *tok, int32_t id, int special, size_t *len);
/* The longest piece, for sizing fsk_detok_push's buffer (add 3 for held bytes). */
size_t fsk_tokenizer_max_piece_len(const fsk_tokenizer *tok);
/* enum fsk_token_type (control for the end-of-generation tokens, as llama.cpp forces); -1 out of
 * range. */
int fsk_tokenizer_token_type(const fsk_tokenizer *tok, int32_t id);
int fsk_tokenizer_is_control(const fsk_tokenizer *tok, int32_t id);
/* End of generation: EOS, EOT, and tokens named <|eot_id|>, <|im_end|>, <|end|>,
 * <end_of_turn>, <|endoftext|>, <|eom_id|>, <EOT>, _<EOT>, <|end_of_text|>, <|return|>,
 * <|call|>, <end_of_utterance> when present. */
int fsk_tokenizer_is_eog(const fsk_tokenizer *tok, int32_t id);
/* The id whose stored text is exactly text[0..len) (the last such id, as llama.cpp), or -1. */
int32_t fsk_tokenizer_find(const fsk_tokenizer *tok, const char *text, size_t len);

/* The pieces of ids concatenated (may end inside a UTF-8 sequence when the ids do). When a
 * SentencePiece vocabulary adds a space prefix and ids start with BOS, the space the prefix put
 * in front of the text is dropped (the output's first byte, when a space), as llama-cpp-python's
 * detokenize: so decoding a prompt encoded with BOS gives its text back, and a lone token still
 * decodes to its piece. (llama.cpp's llama_detokenize instead drops the first token's space
 * unless a BOS leads.) Out-of-range ids fail with FSK_ERR_INVALID_ARG. Same cap convention as
 * encode; buf may be NULL when cap is 0. */
fsk_status fsk_tokenizer_decode(const fsk_tokenizer *tok, const int32_t *ids, size_t n, int special,
                                char *buf, size_t cap, size_t *n_out, fsk_error *err);

/* Streaming decoder: feed ids one at a time and print what comes out; a UTF-8 character split
 * across tokens is held back until it is whole, so no output ever ends inside one. Bytes that
 * cannot become a valid character (a stray continuation byte, a lead byte followed by a
 * non-continuation) are passed on as they are, so the concatenated output always equals
 * fsk_tokenizer_decode of the same ids. Plain struct: lives wherever the caller likes. */
typedef struct fsk_detok {
    const fsk_tokenizer *tok;
    int special;
    unsigned char held[4];
    unsigned n_held;
    int started;      /* an id has been pushed */
    int strip_space;  /* the stream began with BOS: drop a space that comes first (see decode) */
} fsk_detok;

void fsk_detok_init(fsk_detok *st, const fsk_tokenizer *tok, int special);
/* Writes the bytes now complete into buf. Needs cap >= n_held + the piece's length (max_piece_len
 * + 3 always suffices); when smaller, fails with FSK_ERR_INVALID_ARG, *n_out = the size needed,
 * and the state is unchanged. */
fsk_status fsk_detok_push(fsk_detok *st, int32_t id, char *buf, size_t cap, size_t *n_out,
                          fsk_error *err);
/* Writes whatever is still held (an incomplete sequence at the end of the stream; at most 3 bytes)
 * and resets. */
fsk_status fsk_detok_flush(fsk_detok *st, char *buf, size_t cap, size_t *n_out, fsk_error *err);

#endif

#!/usr/bin/env python3
"""make_spm_fixture.py: writes spm-tiny.gguf and tokenizer_spm.tsv, llama.cpp's SPM tokenization.

spm-tiny.gguf is a SentencePiece-style vocabulary (tokenizer.ggml.model "llama", as TinyLlama and
Llama 2 ship) learned by a small BPE pass over English prose, code and some other scripts: <unk>,
<s>, </s>, the 256 byte tokens <0x00>..<0xFF>, the merged pieces (score -rank; the later ones in
tied pairs, to exercise llama.cpp's tie-breaking), the single characters, and a few extra tokens:
control <|im_start|> <|im_end|>, user-defined <|user|>, unused "zq". It carries the llama
hyperparameters llama.cpp needs to open it with vocab_only, and no tensors. add_bos_token and
add_space_prefix are left out: llama.cpp's defaults for "llama" (both true) apply.

The oracle is llama.cpp itself through llama-cpp-python (vocab_only). Run from the repository:

    python3 tests/data/make_spm_fixture.py [CORPUS.txt]

(CORPUS defaults to /work/shared/eval/calib.txt, the opening of Jane Austen's Emma; a built-in
supplement of code and non-Latin text is always added, four times over.)

Format of tokenizer_spm.tsv (tab-separated, one case per line; '#' lines are comments/metadata):

    FLAG  TEXT  IDS  IDS_BOS  PIECES  DETOK

FLAG is 'P' (special tokens parsed: tokenize(special=True)) or '-'; TEXT the input's bytes in
lowercase hex; IDS tokenize(add_bos=False) and IDS_BOS tokenize(add_bos=True), ids separated by
single spaces (empty when none); PIECES the pieces of IDS concatenated (llama_token_to_piece,
lstrip 0, special=True) in hex, or '=' when equal to TEXT; DETOK Llama.detokenize(IDS_BOS,
special=False) (the pieces, less the leading space after BOS; see detokenize()) in hex, or '='
when equal to TEXT.
Metadata lines: '#meta KEY VALUE...' with n_vocab, bos, eos, eot, add_bos, eog (ids),
control (ids).
"""
import collections
import os
import random
import sys

import gguf
import llama_cpp
from gguf import GGUFValueType as VT

HERE = os.path.dirname(os.path.abspath(__file__))
GGUF_PATH = os.path.join(HERE, "spm-tiny.gguf")
TSV_PATH = os.path.join(HERE, "tokenizer_spm.tsv")
SP = "\u2581"
N_MERGES = 1500

SUPPLEMENT = """
int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        printf("%s\\n", argv[i]);
    }
    return 0;
}
def tokenize(self, text):
    return [self.vocab[word] for word in text.split() if word in self.vocab]
import numpy as np
x = np.zeros((3, 4), dtype=np.float32)
if (a != b && c == d) { return -1; } else { return a + b * c; }
SELECT id, name FROM users WHERE age >= 18 ORDER BY name;
https://example.com/path?query=1&x=y
Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber Stra\u00dfe \u00e9t\u00e9 d\u00e9j\u00e0 vu
\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440 \u043f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440
\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u03ba\u03cc\u03c3\u03bc\u03b5
\u4f60\u597d \u4e16\u754c \u4f60\u597d
2024-01-31 12:30:45 3.14159 1,000,000 $5.99 10%
"""


def corpus_words(text):
    """Words as SentencePiece sees them: each run of non-blanks with the space before it (as ▁);
    runs of spaces stay pieces of their own; newlines and tabs are left to byte fallback."""
    words = collections.Counter()
    for line in text.replace("\t", "\n").split("\n"):
        line = " " + line.rstrip()
        i = 0
        while i < len(line):
            j = i
            while j < len(line) and line[j] == " ":
                j += 1
            if j > i + 1:
                words[SP * (j - i - 1)] += 1
                i = j - 1
            j = i + 1
            while j < len(line) and line[j] != " ":
                j += 1
            words[line[i:j].replace(" ", SP)] += 1
            i = j
    return words


def train(words, n_merges):
    """Plain BPE on word counts: merge the most frequent adjacent pair (ties: smallest pair) into
    pieces of at most 16 characters (SentencePiece's max_piece_length)."""
    seqs = {w: list(w) for w in words}
    merges = []
    seen = set()
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, n in words.items():
            s = seqs[w]
            for a, b in zip(s, s[1:]):
                if len(a) + len(b) <= 16:
                    pairs[(a, b)] += n
        if not pairs:
            break
        (a, b), _ = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        piece = a + b
        for w, s in seqs.items():
            i, out = 0, []
            while i < len(s):
                if i + 1 < len(s) and s[i] == a and s[i + 1] == b:
                    out.append(piece)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[w] = out
        if piece not in seen:
            seen.add(piece)
            merges.append(piece)
    return merges


def build_vocab(text):
    words = corpus_words(text)
    merges = train(words, N_MERGES)
    chars = collections.Counter()
    for w, n in words.items():
        for c in w:
            chars[c] += n
    # characters seen once are left out (so they byte-fall-back), as SentencePiece's coverage
    singles = sorted((c for c, n in chars.items() if n >= 2 and c not in merges),
                     key=lambda c: (-chars[c], c))
    tokens = [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3)]
    tokens += [("<0x%02X>" % b, 0.0, 6) for b in range(256)]
    for rank, piece in enumerate(merges):
        # from rank 1000 on, pairs of pieces share a score: llama.cpp then merges leftmost first
        score = -float(rank) if rank < 1000 else -float(rank - rank % 2)
        tokens.append((piece, score, 1))
    base = len(merges)
    for i, c in enumerate(singles):
        tokens.append((c, -float(base + i), 1))
    tokens += [("<|im_start|>", 0.0, 3), ("<|im_end|>", 0.0, 3), ("<|user|>", 0.0, 4),
               ("zq", 0.0, 5)]
    texts = [t[0] for t in tokens]
    assert len(set(texts)) == len(texts), "duplicate token text"
    return tokens


def write_gguf(tokens):
    w = gguf.GGUFWriter(GGUF_PATH, arch="llama")
    w.add_name("spm tiny vocabulary fixture")
    w.add_context_length(4096)
    w.add_embedding_length(32)
    w.add_block_count(1)
    w.add_feed_forward_length(64)
    w.add_head_count(4)
    w.add_head_count_kv(4)
    w.add_rope_dimension_count(8)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("llama")
    w.add_token_list([t[0] for t in tokens])
    w.add_token_scores([t[1] for t in tokens])
    w.add_token_types([t[2] for t in tokens])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


PROSE = [
    "Hello world", "Hello world!", "The quick brown fox jumps over the lazy dog.",
    "Emma Woodhouse, handsome, clever, and rich, with a comfortable home",
    "She was the youngest of the two daughters of a most affectionate, indulgent father;",
    "It was the best of times, it was the worst of times.", "Mr. Knightley's opinion",
    "Don't stop believin'", "I'm here; you're there.", "e.g., i.e., etc., vs.",
    "Q: What is 2+2? A: 4.", "THE END", "tHe QuIcK bRoWn", "a", "I", "the", "The", "hello",
    "Miss Taylor", "Highbury", "Hartfield", "nonsense words: blorfing zquux xylophonic",
]

WHITESPACE = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "a  b", "a   b", "a\tb", "a\nb",
    "a\n\nb", "   leading", "trailing   ", " both ", "x" + " " * 10 + "y", "end with space ",
    "end with newline\n", " " * 17, "\n" * 5, "\t \t", "line one\nline two\n  indented\n",
    "\u00a0", "a\u00a0b", "\u3000", "\u2581", "\u2581\u2581x", " \u2581 ", "a\u2581b",
]

CODE = [
    "int main(void) {\n    printf(\"hello\\n\");\n    return 0;\n}\n",
    "def f(x):\n    return x ** 2  # square\n",
    "for (let i = 0; i < n; i++) { sum += a[i]; }",
    "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\"}}",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "#include <stdio.h>", "x <<= 2; y >>= 3; z ^= ~w;", "C:\\Users\\name\\file.txt",
    "https://example.com/path?query=1&x=y#frag", "user@example.org",
    "import numpy as np\narr = np.zeros((3, 4), dtype=np.float32)\n",
]

NUMBERS = ["0", "7", "42", "123", "1234567890", "3.14159", "1,000,000", "2024-01-31",
           "12:30:45", "$5.99", "10%", "-17", "1e-9", "0x1F", " 1", "1 2 3"]

UNICODE = [
    "Caf\u00e9 d\u00e9j\u00e0 vu.", "na\u00efve r\u00e9sum\u00e9", "\u00fcber Stra\u00dfe",
    "\u00c5ngstr\u00f6m", "e\u0301", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5", "\u4f60\u597d\uff0c\u4e16\u754c\uff01",
    "\u3053\u3093\u306b\u3061\u306f", "\uc548\ub155\ud558\uc138\uc694",
    "\u0645\u0631\u062d\u0628\u0627", "\u0928\u092e\u0938\u094d\u0924\u0947",
    "\u05e9\u05dc\u05d5\u05dd", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
    "\u2211\u222b\u221a\u221e\u2260", "\u20ac\u00a3\u00a5\u20b9",
    "\u201cquoted\u201d \u2018single\u2019",
    "\u2014\u2013", "\u2026", "\u2122\u00a9\u00ae", "\u2603", "\U0001d400\U0001d401",
    "\U00020000", "\ue000", "\ufffd", "\u00ad", "\ufb01",
]

EMOJI = [
    "\U0001f44d", "\U0001f600\U0001f601\U0001f602", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "\U0001f1eb\U0001f1f7", "\U0001f44b\U0001f3fd", "\u2764\ufe0f", "I \u2764\ufe0f NY",
    "ok \U0001f44c!", " \U0001f525", "\U0001f525\U0001f525\U0001f525",
]

SPECIAL_TEXTS = [
    "<s>", "</s>", "<unk>", "<s>Hello", "Hello</s>", "<s> Hello world</s>", "<s><s>", "</s></s>",
    "a<s>b", "<s>\n", " <s> ", "<s", "s>", "<</s>>", "<0x41>", "<0x0A>",
    "<|im_start|>user\nHi<|im_end|>\n",
    "<|im_start|>", "<|im_end|><|im_end|>", "<|im_start|> system", "<|user|>", "x<|user|>y",
    " <|user|> hello", "<|user|><|user|>", "zq", "the zq", "zqzq", "<s><unk></s>",
    "<|im_start|>assistant\nThe answer is 4.<|im_end|>",
]

INVALID = [b"\xff", b"\xfe\xff", b"\xc3", b"\xc3(", b"abc\x80def", b"\xe4\xb8", b"\xe4\xb8a",
           b"\xc0\x80", b"\xed\xa0\x80", b"\xf0\x9f\x98", b"caf\xe9", b"x\x00y", b"\x00",
           b"\x01\x02\x03", b"\x7f", b"Hello \xff world", b"\xf8\x88\x80\x80\x80"]


def atoms():
    return ["the", "The", "and", "of", "Emma", "Mr.", "Woodhouse", "ing", "ed", "x", "q", "z",
            "'s", "n't", "0", "12", "345", " ", "  ", "\t", "\n", ".", ",", "!", "?", "-", "(",
            ")", "\"", "<", ">", "=", "{", "}", "\u00e9", "\u00fc", "\u043c\u0438\u0440",
            "\u4f60", "\U0001f600", "\u2581", "<s>", "</s>", "<unk>", "<|im_start|>", "<|user|>",
            "zq", "\u00a0", "\ufeff"]


def combinatorial(rng, n):
    pool = atoms()
    return ["".join(rng.choice(pool) for _ in range(rng.randint(1, 10))) for _ in range(n)]


def corpus_slices(rng, text, n):
    out = []
    for _ in range(n):
        a = rng.randrange(len(text) - 200)
        out.append(text[a:a + rng.randint(1, 160)])
    return out


def cases(corpus):
    rng = random.Random(20240607)
    texts = (PROSE + WHITESPACE + CODE + NUMBERS + UNICODE + EMOJI + corpus_slices(rng, corpus, 80)
             + combinatorial(rng, 120) + ["word " * 60, "a" * 200, "ab" * 80, "\u00e9" * 50])
    out = [("-", t.encode("utf-8")) for t in texts]
    out += [("-", b) for b in INVALID]
    out += [("P", t.encode("utf-8")) for t in SPECIAL_TEXTS]
    out += [("-", t.encode("utf-8")) for t in SPECIAL_TEXTS]
    out += [("P", t.encode("utf-8")) for t in combinatorial(rng, 50) + PROSE[:4] + CODE[:2]]
    seen, uniq = set(), []
    for c in out:
        if c not in seen:
            seen.add(c)
            uniq.append(c)
    return uniq


def piece(vocab, tok, special=True):
    buf = llama_cpp.ctypes.create_string_buffer(256)
    n = llama_cpp.llama_token_to_piece(vocab, tok, buf, len(buf), 0, special)
    assert 0 <= n <= len(buf), (tok, n)
    return buf.raw[:n]


def detokenize(m, vocab, ids):
    """Llama.detokenize(ids, special=False): the pieces, less a leading space when BOS leads. Done
    here with a buffer that fits, since llama-cpp-python's own cuts pieces longer than 32 bytes;
    where none is, the two must agree."""
    out = b"".join(piece(vocab, i, False) for i in ids)
    if ids and ids[0] == m.token_bos() and out[:1] == b" ":
        out = out[1:]
    if all(len(piece(vocab, i, False)) <= 32 for i in ids):
        assert out == m.detokenize(ids, special=False), ids
    return out


def same_or_hex(b, text):
    return "=" if b == text else b.hex()


def write_tsv(corpus):
    m = llama_cpp.Llama(model_path=GGUF_PATH, vocab_only=True, verbose=False)
    vocab = m._model.vocab
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    title = __doc__.split("\n\n", 1)[0].replace("\n", "\n# ")
    lines = ["# " + title + "\n",
             "# format: FLAG<TAB>TEXT<TAB>IDS<TAB>IDS_BOS<TAB>PIECES<TAB>DETOK (hex or '=')\n",
             f"#meta n_vocab {n_vocab}\n"]
    for key, fn in (("bos", llama_cpp.llama_vocab_bos), ("eos", llama_cpp.llama_vocab_eos),
                    ("eot", llama_cpp.llama_vocab_eot)):
        lines.append(f"#meta {key} {fn(vocab)}\n")
    lines.append(f"#meta add_bos {int(llama_cpp.llama_vocab_get_add_bos(vocab))}\n")
    eog = [i for i in range(n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, i)]
    ctl = [i for i in range(n_vocab) if llama_cpp.llama_vocab_is_control(vocab, i)]
    lines.append("#meta eog " + " ".join(map(str, eog)) + "\n")
    lines.append("#meta control " + " ".join(map(str, ctl)) + "\n")
    for flag, text in cases(corpus):
        special = flag == "P"
        ids = m.tokenize(text, add_bos=False, special=special)
        ids_bos = m.tokenize(text, add_bos=True, special=special)
        pieces = b"".join(piece(vocab, i) for i in ids)
        detok = detokenize(m, vocab, ids_bos)
        lines.append("\t".join([flag, text.hex(), " ".join(map(str, ids)),
                                " ".join(map(str, ids_bos)), same_or_hex(pieces, text),
                                same_or_hex(detok, text)]) + "\n")
    with open(TSV_PATH, "w", encoding="ascii") as f:
        f.writelines(lines)
    return len(lines)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/eval/calib.txt"
    with open(path, encoding="utf-8") as f:
        corpus = f.read()
    tokens = build_vocab(corpus + SUPPLEMENT * 4)
    write_gguf(tokens)
    n = write_tsv(corpus)
    print(f"{GGUF_PATH}: {len(tokens)} tokens, {os.path.getsize(GGUF_PATH)} bytes; "
          f"{TSV_PATH}: {n} lines", file=sys.stderr)


if __name__ == "__main__":
    main()

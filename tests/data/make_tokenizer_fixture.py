#!/usr/bin/env python3
"""make_tokenizer_fixture.py: writes tokenizer_smollm2.tsv, llama.cpp's tokenization of 783 texts.

The oracle is llama.cpp itself through llama-cpp-python (vocab_only). Run from the repository:

    python3 tests/data/make_tokenizer_fixture.py MODEL.gguf > tests/data/tokenizer_smollm2.tsv

(MODEL.gguf defaults to $FSK_MODEL.)

Format (tab-separated, one case per line; lines starting with '#' are comments or metadata):

    FLAG  TEXT  IDS  DECODED

FLAG is 'P' (special tokens parsed: tokenize(special=True)) or '-' (special=False); TEXT is the
input's bytes in lowercase hex (so any byte, NUL, tab and newline included, is unambiguous); IDS
the token ids separated by single spaces (empty when none); DECODED the concatenated pieces
(llama_token_to_piece with special=True) in hex, or '=' when they equal TEXT byte for byte.
Metadata lines: '#meta KEY VALUE...' with n_vocab, bos, eos, eot, eog (ids), control (ids).
"""
import os
import random
import sys

import llama_cpp

SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<reponame>", "<file_sep>",
            "<filename>", "<gh_stars>", "<issue_start>", "<jupyter_code>", "<empty_output>"]

PROSE = [
    "Hello world! 123",
    "The capital of France is Paris.",
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face",
    "In 1969, Neil Armstrong became the first person to walk on the Moon.",
    "The quick brown fox jumps over the lazy dog.",
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the "
    "age of foolishness, it was the epoch of belief, it was the epoch of incredulity.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "Q: What is 2+2? A: 4.",
    "Mr. O'Neil's dog (a 3-year-old beagle) barked at 7:45 a.m.",
    "e.g., i.e., etc., vs.",
    "  multiple   spaces",
    "Don't stop believin'",
]

CONTRACTIONS = [
    "I'm", "I'M", "i'm", "you're", "YOU'RE", "You'Re", "they've", "THEY'VE", "she'll", "SHE'LL",
    "He'd", "HE'D", "it's", "IT'S", "It'S", "won't", "WON'T", "can't", "ca'nt", "'s", "'S", "'t",
    "'re", "'ve", "'m", "'ll", "'d", "'", "''", "'''", "' s", "rock 'n' roll", "'tis", "y'all",
    "o'clock", "the '90s", "'hello'", "it''s", "l'homme", "dell'arte", "'LL", "'Ll", "'lL",
]

NUMBERS = [
    "0", "7", "42", "123", "1234", "12345", "1234567890", "3.14159", "1,000,000", "v2.0.1",
    "00012", "-17", "+3", "1e-9", "0x1F", "10%", "$5.99", "2024-01-31", "12:30:45", "#1",
    "1st 2nd 3rd 4th", "\u0663\u0664\u0665", "\u00b2\u00b3", "\u00bd\u00bc", "\u216b",
    "\uff11\uff12\uff13", "\u0967\u0968\u0969", "x2", "2x", "a1b2c3", " 1", "  12", "1 2 3",
    "99 bottles", "1" * 40, "31415926535897932384626433832795",
]

WHITESPACE = [
    " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r", " \n", "\n ", " \n ",
    "a  b", "a   b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "a \n b", "   leading", "trailing   ",
    " both ", "\u00a0", "a\u00a0b", "\u3000", "a\u3000b", "\u2028", "\u2029", "\u0085",
    "a\u0085b", "\u200b", "a\u200bb", "\u180e", "\u1680", "\u2009thin", "\u202f", "\u205f",
    "\x0b", "\x0c", "\x1c\x1d\x1e\x1f", "a\x1fb", " " * 33, "\n" * 20, "\t \t \t", " \t\n\r",
    "x" + " " * 10 + "y", "end with space ", "end with newline\n", "\ufeffBOM",
]

CODE = [
    "int main(void) {\n    printf(\"hello\\n\");\n    return 0;\n}\n",
    "def f(x):\n    return x ** 2  # square\n",
    "for (let i = 0; i < n; i++) { sum += a[i]; }",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "<div class=\"box\"><p>Hi &amp; bye</p></div>",
    "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\"}}",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "#!/bin/sh\nset -eu\nfor f in *.txt; do echo \"$f\"; done\n",
    "x <<= 2; y >>= 3; z ^= ~w; a &&= b || c",
    "    indented\n\tand tabbed\n",
    "if (a != b && c == d) { /* comment */ }",
    "import numpy as np\narr = np.zeros((3, 4), dtype=np.float32)\n",
    "std::vector<std::string> v{\"a\", \"b\"};",
    "$ git commit -m 'fix: off-by-one'",
    "#include <stdio.h>",
    "@decorator\nclass Foo(Bar, metaclass=Meta):\n    pass\n",
    "matrix[i][j] = matrix[i-1][j-1] + 1",
    "println!(\"{:?}\", vec![1, 2, 3]);",
    "C:\\Users\\name\\file.txt",
    "a->b->c; p++; --q;",
]

URLS = [
    "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct",
    "http://example.com/path?query=1&x=y#frag",
    "user@example.org", "ftp://files.example.net/pub/", "www.example.com/a_b-c.d",
    "mailto:someone@example.com?subject=Hi", "https://en.wikipedia.org/wiki/Tokenization_(lexical_analysis)",
]

UNICODE = [
    "Caf\u00e9 d\u00e9j\u00e0 vu.", "na\u00efve co\u00f6perate", "\u00c5ngstr\u00f6m", "Stra\u00dfe",
    "e\u0301", "a\u0300\u0301\u0302\u0303", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f",
    "\u4f60\u597d\uff0c\u4e16\u754c\uff01", "\u3053\u3093\u306b\u3061\u306f\u4e16\u754c",
    "\u30ab\u30bf\u30ab\u30ca", "\uc548\ub155\ud558\uc138\uc694", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!",
    "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645",
    "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u039a\u03cc\u03c3\u03bc\u03b5",
    "\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd", "\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35",
    "\u10d2\u10d0\u10db\u10d0\u10e0\u10ef\u10dd\u10d1\u10d0", "\u0532\u0561\u0580\u0565\u0582",
    "Tiếng Việt có dấu", "Ελληνικά και English mixed", "中文English混合123",
    "∑∫√∞≠≤≥±×÷", "€£¥₹$¢", "“quoted” ‘single’ «guillemets» „low“", "—–‐‑", "…", "•·°",
    "™©®", "←→↑↓⇒", "♠♣♥♦", "\u2603", "\U0001d400\U0001d401\U0001d7ce", "\U00020000\U0002a6d6",
    "\ue000", "\U000f0000", "\ufffd", "\ufdd0", "\u0378", "\U0001fbf0", "\u00ad", "ǅ ǈ ǋ",
    "ᾼ ῌ", "ʰʲ", "ﬁ ﬂ", "Ⓐⓑ", "㈠㈡", "🄰", "\u2160\u2161\u2162", "\u3007",
]

EMOJI = [
    "\U0001f44d", "\U0001f600\U0001f601\U0001f602", "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "\U0001f1eb\U0001f1f7", "\U0001f1fa\U0001f1f8\U0001f1ef\U0001f1f5", "\U0001f3f3\ufe0f\u200d\U0001f308",
    "\U0001f44b\U0001f3fd", "1\ufe0f\u20e3", "\u2764\ufe0f", "I \u2764\ufe0f NY", "ok \U0001f44c!",
    "\U0001f9d1\u200d\U0001f4bb coding", "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    " \U0001f525", "\U0001f525\U0001f525\U0001f525",
]

PUNCT = [
    "!!!", "???", "...", "?!", "---", "***", "___", "===", "~~~", "<<>>", "(((", ")))", "[]{}",
    "\"\"", "''", "``", "@#$%^&*", "a,b;c:d", "end.", "\"Hi,\" she said.", "-->", "<!--", "/* */",
    "//", "\\\\", "|||", "+-*/", "...?!...", "#!", "%%", "&&||", "::", ";;", " .", " ..", ". .",
]

SPECIAL_TEXTS = [
    "<|im_start|>user\nHi there<|im_end|>\n",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
    "<|im_start|>assistant\n",
    "<|endoftext|>", "<|im_start|><|im_end|>", "<|im_<|im_end|>start|>", "<|im_start",
    "im_start|>", "<|im_start|", "<<|im_end|>>", "<|im_end|><|im_end|>", "a<|endoftext|>b",
    " <|im_start|> ", "<reponame>repo<file_sep>file.py", "<filename>main.c", "<gh_stars>100",
    "<jupyter_code>print(1)<jupyter_output>1", "<empty_output>", "<|IM_START|>",
    "<issue_start>bug<issue_comment>fix<issue_closed>", "<|im_start|>\n\n<|im_end|>",
    "text<|im_end|>\n<|im_start|>", "<|endoftext|><|endoftext|>",
]

INVALID = [
    b"\xff", b"\xfe\xff", b"\xc3", b"\xc3(", b"abc\x80def", b"\x80\x80\x80", b"\xe4\xb8",
    b"\xe4\xb8a", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xed\xbf\xbf",
    b"\xf0\x9f\x98", b"\xf0\x9f\x98 ok", b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80",
    b"caf\xe9", b"\xa0\xa1", b"x\x00y", b"\x00", b"\x01\x02\x03", b"\x7f", b"\xef\xbb\xbf",
    b"Hello \xff world", b"12\x8034",
]


def atoms():
    """Small pieces that combine into adversarial strings."""
    return (["the", "The", "THE", "hello", "World", "ing", "un", "x", "I", "a", "Z", "naïve",
             "über", "東京", "москва", "ελ", "ह", "ة", "😀", "👍🏽", "🇩🇪", "\u200d", "\ufe0f",
             "'s", "'t", "'RE", "'", "n't", "0", "1", "12", "345", "2024", "½", "²", "٣", " ",
             "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", ".", ",", "!", "?", "-", "_", "(",
             ")", "\"", "$", "+", "<", ">", "=", "^", "~", "|", "`", "@", "#", "%", "&", "*",
             "/", "\\", ":", ";", "[", "]", "{", "}", "...", "—", "•", "<|", "|>", "im_start"]
            + SPECIALS)


def combinatorial(rng, n):
    pool = atoms()
    out = []
    for _ in range(n):
        k = rng.randint(1, 12)
        out.append("".join(rng.choice(pool) for _ in range(k)))
    return out


def random_code_points(rng, n):
    """Strings of code points from all over the planes (version-sensitive categories included)."""
    out = []
    for _ in range(n):
        cps = []
        for _ in range(rng.randint(1, 8)):
            plane = rng.choice([0, 0, 0, 1, 2, 3, 14])
            cp = rng.randrange(0x20 if plane == 0 else 0, 0x10000) + plane * 0x10000
            if 0xD800 <= cp <= 0xDFFF:
                cp = 0x41
            cps.append(chr(cp))
            if rng.random() < 0.3:
                cps.append(rng.choice([" ", "a", "1", "."]))
        out.append("".join(cps))
    return out


def long_texts():
    para = " ".join(PROSE[:8])
    return [para, para * 3, "word " * 200, "a" * 300, "ab" * 150, "\u4e2d" * 100,
            "1234567890" * 20, "ha" * 100 + "!", "-" * 120, "=" * 80 + "\n" + "-" * 80]


def cases():
    rng = random.Random(20240531)
    texts = (PROSE + CONTRACTIONS + NUMBERS + WHITESPACE + CODE + URLS + UNICODE + EMOJI + PUNCT
             + long_texts() + combinatorial(rng, 330) + random_code_points(rng, 60))
    out = [("-", t.encode("utf-8")) for t in texts]
    out += [("-", b) for b in INVALID]
    out += [("P", t.encode("utf-8")) for t in SPECIAL_TEXTS]
    out += [("-", t.encode("utf-8")) for t in SPECIAL_TEXTS]
    out += [("P", t.encode("utf-8")) for t in combinatorial(rng, 40)]
    out += [("P", t.encode("utf-8")) for t in PROSE[:5] + CODE[:3] + EMOJI[:3]]
    seen, uniq = set(), []
    for c in out:
        if c not in seen:
            seen.add(c)
            uniq.append(c)
    return uniq


def piece(vocab, tok):
    buf = llama_cpp.ctypes.create_string_buffer(1024)
    n = llama_cpp.llama_token_to_piece(vocab, tok, buf, len(buf), 0, True)
    assert 0 <= n <= len(buf), (tok, n)
    return buf.raw[:n]


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.environ["FSK_MODEL"]
    m = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    vocab = m._model.vocab
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    w = sys.stdout.write
    w(__doc__.split("\n\n", 1)[0].replace('"""', "").replace("\n", "\n# ").join(["# ", "\n"]))
    w("# format: FLAG<TAB>TEXT(hex)<TAB>IDS<TAB>DECODED(hex or '=')\n")
    w(f"#meta n_vocab {n_vocab}\n")
    for key, fn in (("bos", llama_cpp.llama_vocab_bos), ("eos", llama_cpp.llama_vocab_eos),
                    ("eot", llama_cpp.llama_vocab_eot)):
        w(f"#meta {key} {fn(vocab)}\n")
    eog = [i for i in range(n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, i)]
    ctl = [i for i in range(n_vocab) if llama_cpp.llama_vocab_is_control(vocab, i)]
    w("#meta eog " + " ".join(map(str, eog)) + "\n")
    w("#meta control " + " ".join(map(str, ctl)) + "\n")
    for flag, text in cases():
        ids = m.tokenize(text, add_bos=False, special=(flag == "P"))
        dec = b"".join(piece(vocab, i) for i in ids)
        w(f"{flag}\t{text.hex()}\t{' '.join(map(str, ids))}\t{'=' if dec == text else dec.hex()}\n")


if __name__ == "__main__":
    main()

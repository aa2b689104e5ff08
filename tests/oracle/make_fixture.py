#!/usr/bin/env python3
"""make_fixture.py: reference logits and greedy continuations from llama.cpp (llama-cpp-python)
on the default model, written as a small text fixture that `make check` compares ffnskip with.

Usage: python3 tests/oracle/make_fixture.py MODEL.gguf > tests/data/oracle_smollm2.txt
Needs: pip install llama-cpp-python (built from source by pip; a few minutes).

Format, one record per line, space separated:
  model <sha256 of the GGUF>
  prompt <k> <n> <id>...                the prompt's token ids (llama.cpp's tokenization)
  top <k> <pos> <id>:<logit> x20        the 20 largest logits after the token at pos
  greedy <k> <n> <id>...                llama.cpp's greedy continuation of the whole prompt
  margin <k> <n> <gap>...               at each greedy step, llama.cpp's top-1 minus top-2 logit
"""
import hashlib
import sys

import llama_cpp
import numpy as np

PROMPTS = [
    # a chat turn through SmolLM2's ChatML template
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n<|im_start|>user\nWhat is the capital of France, and what river flows "
    "through it?<|im_end|>\n<|im_start|>assistant\n",
    # prose
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife. However little known the feelings or views of such a man may be",
    # code
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n"
    "        return n\n    a, b = 0, 1\n    for _ in range(n - 1):\n",
]
POSITIONS = 32
TOP = 20
GREEDY = 64


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    kwargs = dict(model_path=path, n_ctx=512, n_batch=512, logits_all=True, n_threads=2,
                  seed=0, verbose=False)
    try:
        llm = llama_cpp.Llama(flash_attn=False, **kwargs)
    except TypeError:
        llm = llama_cpp.Llama(**kwargs)
    out = sys.stdout
    out.write("model %s\n" % digest)
    out.write("# llama-cpp-python %s; F16 KV cache, no flash attention\n" % llama_cpp.__version__)
    for k, text in enumerate(PROMPTS):
        ids = llm.tokenize(text.encode(), add_bos=False, special=True)
        if len(ids) < POSITIONS:
            sys.exit("prompt %d has only %d tokens" % (k, len(ids)))
        out.write("prompt %d %d %s\n" % (k, len(ids), " ".join(map(str, ids))))
        llm.reset()
        llm.eval(ids)
        scores = np.array(llm.scores[: len(ids)])
        for pos in range(POSITIONS):
            row = scores[pos]
            best = np.argsort(-row, kind="stable")[:TOP]
            out.write("top %d %d %s\n" % (k, pos, " ".join("%d:%.6f" % (i, row[i]) for i in best)))
        # greedy continuation, one token at a time, as ffnskip decodes
        gen, gaps = [], []
        last = scores[len(ids) - 1]
        for _ in range(GREEDY):
            nxt = int(np.argmax(last))
            top2 = np.sort(last)[-2:]
            gaps.append(float(top2[1] - top2[0]))
            gen.append(nxt)
            llm.eval([nxt])
            last = np.array(llm.scores[llm.n_tokens - 1])
        out.write("greedy %d %d %s\n" % (k, len(gen), " ".join(map(str, gen))))
        out.write("margin %d %d %s\n" % (k, len(gaps), " ".join("%.4f" % g for g in gaps)))
        sys.stderr.write("prompt %d: %r\n" % (k, llm.detokenize(gen).decode("utf-8", "replace")))


if __name__ == "__main__":
    main()

"""Normalisation of Indonesian social-media text, down to Sastrawi stems (pure, cached per token).

`tokenize` keeps each token's span in the input, so evidence can be shown as the post's own
words; `normalize` gives the model's input: space-separated stems without stopwords.
Handled: URLs, @mentions, hashtags (split into words: #percumalaporpolisi -> percuma lapor
polisi), elongations (bangeeet), repeated punctuation, emoji, numbers and amounts (200rb),
reduplication (surat2), slang and abbreviations (triage/lexicon.py), redaction placeholders.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

from triage.lexicon import EXTRA_WORDS, NO_STEM, SLANG, STOPWORDS, WORD_CLASSES

_TOKEN_RE = re.compile(
    r"(?P<url>https?://\S+|www\.\S+)"
    r"|(?P<placeholder>\[[A-Z_]+(?::[0-9a-f]+)?\])"
    r"|(?P<mention>@\w{1,30})"
    r"|(?P<hashtag>#\w+)"
    r"|(?P<word>[^\W_]+(?:[-'][^\W_]+)*)"
    r"|(?P<punct>[?!]+)"
    r"|(?P<emoji>[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2B55\u203C\u2049]+)"
)
_TRIPLE_RE = re.compile(r"(.)\1\1")  # elongation: a letter three times or more
_RUN_RE = re.compile(r"(.)\1{2,}")
_REPEAT_RE = re.compile(r"(.)\1+")
_NUM_UNIT_RE = re.compile(r"^(\d+(?:[.,]\d+)*)([a-z]*)$")
_REDUP_RE = re.compile(r"^([a-z]{2,})[2²]$")  # "surat2", "hidup²" -> "surat", "hidup"
_NEGATED_RE = re.compile(r"^(?:gak|ga|gk|nggak|ngga|ndak|tdk|gaa)([a-z]{3,})$")  # gasuka
_CAMEL_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

EMOJI_CLASSES = {
    "marah": "😡🤬😠👿💢",
    "sedih": "😢😭😞😔🥺😩😫",
    "tawa": "😂🤣😆😹",
    "jempol": "👍👌💯",
    "mohon": "🙏",
    "kesal": "🙄😒😤🤦",
}
_EMOJI_CLASS = {ch: name for name, chars in EMOJI_CLASSES.items() for ch in chars}


class Token(NamedTuple):
    """One token of the input with the words it normalises to (a NamedTuple: posts have many
    tokens, and a tuple is built several times faster than a frozen dataclass)."""

    start: int  # span in the input text
    end: int
    kind: str  # word, url, mention, hashtag, placeholder, punct, emoji
    words: tuple[str, ...]  # normalised stems (stopwords removed); may be empty


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    """Sastrawi's root words plus our lexicon: used to split hashtags and undo elongations."""
    data = resources.files("Sastrawi.Stemmer").joinpath("data/kata-dasar.txt").read_text("utf-8")
    words = {w.strip() for w in data.split() if w.strip()}
    words.update(SLANG)
    words.update(EXTRA_WORDS)
    words.update(w for v in SLANG.values() for w in v.split())
    return frozenset(words)


@lru_cache(maxsize=1)
def _stemmer():  # noqa: ANN202 - Sastrawi has no type hints
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


@lru_cache(maxsize=1)
def _roots() -> frozenset[str]:
    """Sastrawi's dictionary of root words (what its stemmer may return)."""
    return frozenset(_stemmer().delegatedStemmer.dictionary.words)


# Affixes Sastrawi's (ECS) stemmer strips, with the letters a nasal prefix may have replaced
# (menulis -> tulis, memakai -> pakai, mengirim -> kirim, menyapu -> sapu).
_PREFIXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("di", ("",)), ("ke", ("",)), ("se", ("",)), ("ber", ("",)), ("be", ("",)), ("ter", ("",)),
    ("te", ("",)), ("me", ("",)), ("mem", ("", "p")), ("men", ("", "t")), ("meng", ("", "k")),
    ("meny", ("s",)), ("menge", ("",)), ("pe", ("",)), ("pem", ("", "p")), ("pen", ("", "t")),
    ("peng", ("", "k")), ("peny", ("s",)), ("penge", ("",)), ("per", ("",)),
    # colloquial Jakarta forms: nyari -> cari, ngurus -> urus, nolak -> tolak, nunjukin -> tunjuk
    ("ny", ("s", "c")), ("ng", ("", "k")), ("n", ("t",)),
)  # fmt: skip
_PREFIXES_BY_LETTER: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    letter: tuple(p for p in _PREFIXES if p[0][0] == letter) for letter in {p[0][0] for p in _PREFIXES}
}
_BE_TE_RE = re.compile(r"^[bcdfghjklmnpqstvwxyz]er")  # be-/te- only before C-er (bekerja)
_SUFFIX_GROUPS = (("lah", "kah", "tah", "pun"), ("ku", "mu", "nya"), ("kan", "an", "i", "in"))


@lru_cache(maxsize=200_000)
def _root_candidates(word: str) -> frozenset[str]:
    """Every dictionary root reachable from `word` by stripping affixes (a superset of ECS)."""
    roots = _roots()
    forms = [word]
    for group in _SUFFIX_GROUPS:
        forms += [f[: -len(s)] for f in forms for s in group if f.endswith(s) and len(f) > len(s) + 2]
    found = {f for f in forms[1:] if f in roots}
    stack = [(f, 3) for f in forms]
    while stack:
        form, depth = stack.pop()
        for prefix, restores in _PREFIXES_BY_LETTER.get(form[:1], ()):
            if not form.startswith(prefix) or len(form) <= len(prefix) + 1:
                continue
            tail = form[len(prefix):]
            if prefix in ("be", "te") and not _BE_TE_RE.match(tail):
                continue
            for restore in restores:
                candidate = restore + tail
                if candidate in roots:
                    found.add(candidate)
                if depth > 1:
                    stack.append((candidate, depth - 1))
    return frozenset(found)


def stem(word: str) -> str:
    """Sastrawi's stem of a lowercase word, without running Sastrawi when the answer is plain.

    Sastrawi tries dozens of affix rules per word (about 1 ms for a word it cannot stem, which is
    most words of real posts: names, typos, slang). When no dictionary root is reachable the
    word stays as it is; when exactly one is, that root is the stem; only when several are does
    Sastrawi choose. Agreement with Sastrawi on real posts' vocabulary is above 99%; the rest are
    colloquial forms (bedoa, becanda) that Sastrawi leaves alone and this strips.
    """
    if word in _roots():
        return word
    candidates = _root_candidates(word)
    if not candidates:
        return word
    if len(candidates) == 1:
        return next(iter(candidates))
    return _stemmer().stem(word) or word


def _deelongate(word: str) -> str:
    """'bangeeet' -> 'banget', 'maaaaf' -> 'maaf', 'tolonggg' -> 'tolong'."""
    if not _TRIPLE_RE.search(word):
        return word
    vocab = _vocabulary()
    doubled = _RUN_RE.sub(r"\1\1", word)
    if doubled in vocab or doubled in SLANG:
        return doubled
    single = _REPEAT_RE.sub(r"\1", doubled)
    return single if single in vocab or single in SLANG else _RUN_RE.sub(r"\1", word)


@lru_cache(maxsize=200_000)
def normalize_word(word: str) -> tuple[str, ...]:
    """A lowercase word -> its normalised stems (empty for stopwords). Cached per token."""
    match = _NUM_UNIT_RE.match(word)
    if match:
        unit = SLANG.get(match.group(2), match.group(2))
        return ("angka",) + ((unit,) if unit else ())
    redup = _REDUP_RE.match(word)
    if redup:
        word = redup.group(1)
    word = _deelongate(word)
    if word not in SLANG and word.isalpha() and word not in _vocabulary():
        negated = _NEGATED_RE.match(word)
        if negated and negated.group(1) in _vocabulary():  # "gasuka" -> tidak suka
            return ("tidak",) + normalize_word(negated.group(1))
        if len(word) >= 9 and not _root_candidates(word):
            parts = split_compound(word)  # "percumalaporpolisi" -> percuma lapor polisi
            if len(parts) > 1:
                return tuple(w for part in parts for w in normalize_word(part))
    expanded = SLANG.get(word, word).split()
    out = []
    for part in expanded:
        if part in STOPWORDS:
            continue
        root = part if part in NO_STEM or len(part) <= 3 or not part.isalpha() else stem(part)
        out.append(root)
        tag = WORD_CLASSES.get(root) or WORD_CLASSES.get(part)
        if tag:
            out.append(tag)
    return tuple(out)


def split_compound(word: str) -> tuple[str, ...]:
    """An unknown run-together word -> known words of 3+ letters, or the word itself.

    For hashtags written without "#" ("percumalaporpolisi", "kaiaccess"): only a split into
    words that are all known is taken (the fewest pieces), so ordinary unknown words (names,
    typos) stay whole.
    """
    vocab = _vocabulary()
    n = len(word)
    best: list[tuple[str, ...] | None] = [None] * (n + 1)  # fewest known pieces covering word[:i]
    best[0] = ()
    for end in range(3, n + 1):
        for start in range(max(0, end - 20), end - 2):
            prev = best[start]
            if prev is not None and word[start:end] in vocab:
                if best[end] is None or len(prev) + 1 < len(best[end]):
                    best[end] = prev + (word[start:end],)
    result = best[n]
    return result if result is not None and len(result) > 1 else (word,)


@lru_cache(maxsize=50_000)
def split_hashtag(tag: str) -> tuple[str, ...]:
    """'#PercumaLaporPolisi' / '#percumalaporpolisi' -> ('percuma', 'lapor', 'polisi')."""
    body = tag.lstrip("#")
    camel = _CAMEL_RE.findall(body)
    if len(camel) > 1 and not body.isupper():  # the author's capitals: #BPJSKesehatan
        return tuple(p.lower() for p in camel)
    text = body.lower()
    vocab = _vocabulary()
    # best[i] = (score, words) for text[:i]; score rewards long known words
    best: list[tuple[float, tuple[str, ...]] | None] = [None] * (len(text) + 1)
    best[0] = (0.0, ())
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - 20), end):
            prev = best[start]
            if prev is None:
                continue
            piece = text[start:end]
            known = piece in vocab and (len(piece) > 1)
            score = prev[0] + (len(piece) ** 2 if known else -3.0 * len(piece))
            if best[end] is None or score > best[end][0]:
                best[end] = (score, prev[1] + (piece,))
    result = best[len(text)]
    if result and result[0] > 0:
        return result[1]
    return (text,)


def tokenize(text: str) -> list[Token]:
    """Tokens of `text` with spans and normalised words."""
    tokens: list[Token] = []
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup or "word"
        value = match.group()
        if kind == "word":
            words = normalize_word(value.lower())
        elif kind == "url":
            words = ("tautan",)
        elif kind == "placeholder":
            words = ("ent_" + value.strip("[]").split(":")[0].lower(),)
        elif kind == "mention":
            words = (value.lower(),)
        elif kind == "hashtag":
            words = tuple(w for part in split_hashtag(value) for w in normalize_word(part))
        elif kind == "punct":
            words = ("tanya_q",) if "?" in value else ("seru_x",)
        else:
            words = tuple(sorted({"emo_" + _EMOJI_CLASS.get(ch, "lain") for ch in value}))
        tokens.append(Token(match.start(), match.end(), kind, words))
    return tokens


def post_words(text: str, tokens: list[Token]) -> tuple[list[str], list[int]]:
    """The model's words of a tokenized post, each with the index of the token it came from
    (-1 for words about the whole post, such as `huruf_kapital` for a post in capitals)."""
    words: list[str] = []
    owners: list[int] = []
    for i, token in enumerate(tokens):
        words += token.words
        owners += [i] * len(token.words)
    upper = sum(map(str.isupper, text)) if not text.islower() else 0
    if upper >= 12 and upper > 0.6 * sum(map(str.isalpha, text)):
        words.append("huruf_kapital")  # shouting
        owners.append(-1)
    return words, owners


def normalize_tokens(text: str, tokens: list[Token]) -> str:
    """The model's view of a tokenized post (`tokens` = tokenize(text))."""
    return " ".join(post_words(text, tokens)[0])


def normalize(text: str) -> str:
    """The model's view of a post: normalised stems joined by spaces."""
    return normalize_tokens(text, tokenize(text))

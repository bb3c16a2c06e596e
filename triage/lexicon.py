"""The team's lexicon of Indonesian social-media spelling: slang -> standard form, stopwords.

Written and kept by hand (tests in tests/triage/test_text.py). A slang entry may expand to
several words ("gpp" -> "tidak apa apa"). Negations are never stopwords: "tidak bisa" and
"bisa" mean opposite things to a complaint classifier.
"""

from __future__ import annotations

SLANG: dict[str, str] = {
    # negation and aspect
    "gak": "tidak", "ga": "tidak", "gk": "tidak", "g": "tidak", "nggak": "tidak", "ngga": "tidak",
    "enggak": "tidak", "engga": "tidak", "ndak": "tidak", "tdk": "tidak", "tak": "tidak",
    "kagak": "tidak", "kaga": "tidak", "gaada": "tidak ada", "gada": "tidak ada",
    "blm": "belum", "blom": "belum", "lom": "belum", "belom": "belum",
    "bkn": "bukan", "bukn": "bukan", "jgn": "jangan", "jangn": "jangan",
    "udh": "sudah", "udah": "sudah", "sdh": "sudah", "dah": "sudah", "uda": "sudah", "wes": "sudah",
    "lg": "lagi", "lgi": "lagi", "msh": "masih", "masi": "masih", "mau": "mau", "mw": "mau",
    "pengen": "ingin", "pgn": "ingin", "pen": "ingin",
    # function words
    "yg": "yang", "yng": "yang", "dgn": "dengan", "dg": "dengan", "dr": "dari", "dri": "dari",
    "utk": "untuk", "u/": "untuk", "buat": "untuk", "krn": "karena", "karna": "karena",
    "soalnya": "karena", "tp": "tapi", "tpi": "tapi", "trs": "terus", "trus": "terus",
    "sm": "sama", "ama": "sama", "sy": "saya", "aku": "saya", "gw": "saya", "gue": "saya",
    "gua": "saya", "aing": "saya", "ane": "saya", "q": "saya", "lu": "kamu", "lo": "kamu",
    "loe": "kamu", "elo": "kamu", "km": "kamu", "kmu": "kamu", "ente": "kamu",
    "jd": "jadi", "jdi": "jadi", "bs": "bisa", "bsa": "bisa", "gmn": "bagaimana",
    "gimana": "bagaimana", "gmna": "bagaimana", "gimn": "bagaimana", "piye": "bagaimana",
    "knp": "kenapa", "napa": "kenapa", "kenapa": "kenapa", "kpn": "kapan", "dmn": "di mana",
    "dimana": "di mana", "brp": "berapa", "apa2": "apa", "aja": "saja", "aj": "saja",
    "doang": "saja", "jg": "juga", "jga": "juga", "kalo": "kalau", "klo": "kalau", "kl": "kalau",
    "klu": "kalau", "bgt": "banget", "bngt": "banget", "bgd": "banget", "sgt": "sangat",
    "emg": "memang", "emang": "memang", "kyk": "seperti", "kayak": "seperti", "kaya": "seperti",
    "spt": "seperti", "gitu": "begitu", "gt": "begitu", "gini": "begini", "skrg": "sekarang",
    "skrang": "sekarang", "sekarng": "sekarang", "tiap": "setiap", "tgl": "tanggal",
    "hrs": "harus", "hrus": "harus", "sampe": "sampai", "smpe": "sampai", "smp": "sampai",
    "ampe": "sampai", "kmrn": "kemarin", "kemaren": "kemarin", "bsk": "besok", "td": "tadi",
    "tdi": "tadi", "org": "orang", "orng": "orang", "sj": "saja", "bnyk": "banyak",
    "byk": "banyak", "sdikit": "sedikit", "dikit": "sedikit", "mulu": "melulu", "mlu": "melulu",
    "bener": "benar", "bnr": "benar", "nih": "ini", "ni": "ini", "tuh": "itu", "tu": "itu",
    "gpp": "tidak apa apa", "ngapain": "mengapa",
    "udahan": "sudah", "makasih": "terima kasih", "mksh": "terima kasih", "trims": "terima kasih",
    "thx": "terima kasih", "tq": "terima kasih", "ty": "terima kasih", "plis": "tolong",
    "pls": "tolong", "please": "tolong", "tlg": "tolong", "tolongin": "tolong",
    "mhn": "mohon", "bales": "balas", "bls": "balas", "dibales": "dibalas", "ngebales": "membalas",
    "nunggu": "tunggu", "nungguin": "tunggu", "ngantri": "antre", "antri": "antre",
    "ngurus": "urus", "ngurusin": "urus", "bayarin": "bayar", "ngasih": "kasih", "kasi": "kasih",
    "dikasi": "dikasih", "nyampe": "sampai", "ilang": "hilang", "ngilang": "hilang",
    "lemot": "lambat", "lelet": "lambat", "eror": "error", "erorr": "error", "err": "error",
    "mati": "mati", "mokad": "mati", "ngadat": "macet", "ngelag": "lag", "nge-lag": "lag",
    "duit": "uang", "doku": "uang", "cuan": "uang", "gaji": "gaji", "rb": "ribu", "ribu": "ribu",
    "jt": "juta", "jtaan": "juta", "perak": "rupiah",
    # address and politeness
    "min": "admin", "mimin": "admin", "admin": "admin", "kak": "kakak", "ka": "kakak",
"gan": "agan", "bang": "abang", "bg": "abang", "bu": "ibu", "pak": "bapak",
    "bpk": "bapak", "mas": "mas", "mbak": "mbak", "mba": "mbak", "sis": "sista", "bro": "bro",
    # public-service words people shorten
    "ktp": "ktp", "e-ktp": "ktp", "ektp": "ktp",
    "sim": "sim", "stnk": "stnk", "bpjs": "bpjs", "bpjstk": "bpjs ketenagakerjaan",
    "pln": "pln", "pdam": "pdam", "krl": "krl", "tj": "transjakarta", "busway": "transjakarta",
    "puskes": "puskesmas", "rs": "rumah sakit", "rsud": "rumah sakit", "sklh": "sekolah",
    "skul": "sekolah", "kampus": "kampus", "ortu": "orang tua", "pemda": "pemerintah daerah",
    "pemkot": "pemerintah kota", "pemkab": "pemerintah kabupaten", "pemprov": "pemerintah provinsi",
    "pemerintah": "pemerintah", "pungutan liar": "pungli", "pelicin": "pelicin",
    "polantas": "polisi lalu lintas", "pulisi": "polisi", "aparat": "aparat",
    # English code-mixing that carries the same signal
    "worst": "buruk", "bad": "buruk", "slow": "lambat", "refund": "refund", "down": "down",
    "error": "error", "bug": "bug", "fix": "perbaiki", "help": "tolong", "why": "kenapa",
    "annoying": "menyebalkan", "literally": "benar benar", "service": "pelayanan",
    "scam": "penipuan", "ripoff": "penipuan", "wtf": "anjir", "app": "aplikasi",
    "apps": "aplikasi", "apk": "aplikasi", "apknya": "aplikasi", "aplikasinya": "aplikasi",
    "broken": "rusak", "useless": "tidak berguna", "late": "terlambat", "delay": "tunda",
    "delayed": "tunda", "cancel": "batal", "canceled": "batal", "cancelled": "batal",
    "money": "uang", "tax": "pajak", "taxes": "pajak", "pay": "bayar", "paid": "bayar",
    "police": "polisi", "cops": "polisi", "government": "pemerintah", "gov": "pemerintah",
    "student": "siswa", "students": "siswa", "school": "sekolah", "hospital": "rumah sakit",
    "how": "bagaimana", "what": "apa", "thanks": "terima kasih", "thank": "terima kasih",
    "good": "bagus", "great": "bagus", "nice": "bagus", "hate": "benci", "corrupt": "korupsi",
    "corruption": "korupsi", "bribe": "suap", "hell": "neraka", "rot": "busuk", "stupid": "bodoh",
    "disappointed": "kecewa", "suck": "payah", "sucks": "payah", "trash": "sampah",
    "garbage": "sampah", "poisoning": "keracunan", "food": "makanan", "login": "login",
    "nga": "tidak", "ngak": "tidak", "gatau": "tidak tahu",
    "gamau": "tidak mau", "gabisa": "tidak bisa", "gbs": "tidak bisa",
    "gajelas": "tidak jelas", "tau": "tahu", "liat": "lihat", "ngeliat": "lihat",
    "cuman": "cuma", "cmn": "cuma", "cm": "cuma", "dpt": "dapat", "dapet": "dapat",
    "bikin": "buat", "kek": "seperti", "kyknya": "sepertinya", "bbrp": "beberapa",
    "ktanya": "katanya", "dmnta": "diminta", "hub": "hubung", "dihub": "dihubungi",
    "trm": "terima", "ksh": "kasih", "rek": "rekening", "no": "nomor", "hp": "hp",
    "mentri": "menteri", "dianggep": "dianggap", "anggep": "anggap",
    # interjections
    "anjir": "anjir", "anjay": "anjir", "anjg": "anjing", "ajg": "anjing", "njir": "anjir",
    "wkwk": "wkwk", "wkwkwk": "wkwk", "haha": "haha", "hehe": "hehe", "btw": "ngomong ngomong",
}  # fmt: skip

STOPWORDS: frozenset[str] = frozenset(
    """
    yang dan di ke dari ini itu dengan untuk pada adalah sebagai dalam juga karena oleh akan
    atau saja sih deh dong kok lah kan nya ya yah tuh nih pun para si sang bagi oleh
    sebuah seorang tersebut hal agar supaya namun jika kalau maka lalu kemudian serta
    antara hingga sampai sejak selama tentang terhadap setiap semua ada adalah
    the a an of to and or is are be
    """.split()
) - {"tidak", "belum", "bukan", "jangan", "tanpa", "kurang"}  # negations always survive

# Words never to stem: Sastrawi would mangle these names and terms.
NO_STEM: frozenset[str] = frozenset(
    "pln bpjs ktp kk sim stnk skck krl kai mrt lrt pdam samsat dukcapil polri polisi pungli "
    "pelicin transjakarta puskesmas coretax imigrasi paspor bansos pkh blt kip ukt ppdb mbg "
    "error bug down refund admin kakak bapak ibu aplikasi token meteran listrik tilang "
    "ketenagakerjaan kesehatan pertamina indihome telkom menteri perawat pemerintah pejabat "
    "perokok penduduk pengguna pemilu pertalite pegawai".split()
)

# Common words missing from Sastrawi's root list, for splitting hashtags.
EXTRA_WORDS: frozenset[str] = frozenset(
    "dulu viral padam gelap lapor kabur usut tuntas tolak darurat rakyat negeri kawal bubarkan "
    "percuma polisi ojol macet banjir rusak jalan keracunan mbg gratis pajak naik turun "
    "access mobile online app viral justice no kai krl bpjs pln lapor aduan terlalu".split()
)

# Word classes: a stem in one of these gets its class token too ("busuk" -> busuk kls_negatif), so
# the models generalise from the seed corpus's words to synonyms it never used.
_CLASSES = {
    "kls_negatif": """
        buruk jelek parah busuk sampah ribet rumit susah sulit lambat lama kecewa kesal kesel marah
        muak capek cape payah bobrok amburadul kacau rusak error gagal hilang macet mati padam
        ganggu aneh percuma zonk tipu bohong korupsi nyolong maling pungli peras mahal boros
        tekor bangkrut miskin sengsara derita jahat zalim lalai abai cuek telat lambat batal tolak
        rugi hancur nyesel sesal racun keracunan bingung pusing repot jengkel sebal bosan males
        malas lemah lelah letih kurang minim mangkrak terbengkalai berantakan semrawut kumuh
        bau banjir becek bolong lubang longsor ambruk ancur kapok tega rakus serakah songong
        sombong arogan nyolot galak judes ketus lebay kocak ngelag lag hang crash bug down
        mubazir gaje becus ngaret persulit pelit
        """,
    "kls_kasar": """
        anjing anjir bangsat babi tai taik kntl kontol goblok goblog tolol bego bodoh brengsek
        bajingan asu jancok jancuk cok kampret sialan sial setan bacot bct monyet kampungan
        idiot dungu tai pantek memek jembut keparat biadab laknat
        """,
    "kls_positif": """
        bagus mantap mantul keren puas bantu mudah cepat praktis efisien ramah top sukses salut
        hebat apresiasi manfaat guna lancar nyaman senang love cinta terbaik sip oke
        semangat sehat bangga jempol rekomendasi recommended helpful bermanfaat memuaskan profesional
        """,
    "kls_publik": """
        pemerintah negara pejabat menteri mentri presiden dpr dprd bupati gubernur walikota camat
        lurah petugas aparat pegawai oknum pns asn instansi dinas kementerian bumn layan program
        kebijakan rakyat pemda pemkot pemkab pemprov birokrasi polisi polri kapolri kapolres
        kapolsek jaksa hakim pengadilan satpol rezim penguasa wakil kabinet kades lurah
        """,
    "kls_tanya": """
        bagaimana gimana apakah kapan berapa mana tanya nanya info informasi cara syarat prosedur
        bisakah bolehkah gmn mohon_info
        """,
}  # fmt: skip
WORD_CLASSES: dict[str, str] = {w: c for c, words in _CLASSES.items() for w in words.split()}

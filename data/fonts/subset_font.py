# Subset the fonts xborder embeds in its reports (data/fonts/SOURCE.md says which ranges and
# why). The report picks, per character, the first of Latin, SC and TC that has a glyph.
#
#   subset_font.py NotoSansCJK-<Weight>.ttc OUT.otf        Noto Sans CJK SC (face 2): ASCII,
#       Latin-1, general punctuation, arrows, CJK symbols and punctuation, full-width forms,
#       and the 6,763 hanzi of GB 2312 (level 1 and 2).
#   subset_font.py NotoSansCJK-<Weight>.ttc OUT.otf tc     Noto Sans CJK TC (face 3): the
#       symbols and the 5,401 hanzi of Big5 level 1 (common characters) that the SC subset
#       above does not already have.
#   subset_font.py NotoSans-<Weight>.ttf OUT.ttf latin     Noto Sans: ASCII, Latin-1, Latin
#       Extended-A and -B, Latin Extended Additional, Greek, Cyrillic, currency symbols.
#
# Characters the source font lacks are skipped. The output does not depend on the clock
# (the head table keeps the source font's dates), so a rebuild gives the same bytes.
import sys
from fontTools.ttLib import TTCollection, TTFont
from fontTools import subset

src, out = sys.argv[1], sys.argv[2]
face = sys.argv[3] if len(sys.argv) > 3 else "sc"


def decodable(encoding, his, los):
    found = set()
    for hi in his:
        for lo in los:
            try:
                found.add(ord(bytes([hi, lo]).decode(encoding)))
            except UnicodeDecodeError:
                pass
    return found


def sc_chars():
    chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100)) | set(range(0x2000, 0x2070)) | set(range(0x2190, 0x21FF))
    chars |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0)) | {0x2022, 0x2026, 0x00D7, 0x2212, 0x2264, 0x2265}
    return chars | decodable("gb2312", range(0xB0, 0xF8), range(0xA1, 0xFF))


if face == "sc":
    font = TTCollection(src, recalcTimestamp=False).fonts[2]
    chars = sc_chars()
elif face == "tc":
    coll = TTCollection(src, recalcTimestamp=False)
    font = coll.fonts[3]
    in_sc = sc_chars() & set(coll.fonts[2].getBestCmap())
    # Big5 symbols (lead bytes 0xA1-0xA3) and level 1 hanzi (0xA4-0xC6).
    big5 = decodable("big5", range(0xA1, 0xC7), list(range(0x40, 0x7F)) + list(range(0xA1, 0xFF)))
    chars = big5 - in_sc
elif face == "latin":
    font = TTFont(src, recalcTimestamp=False)
    chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x250)) | set(range(0x1E00, 0x1F00))
    chars |= set(range(0x370, 0x400)) | set(range(0x400, 0x530)) | set(range(0x20A0, 0x20C1))
else:
    sys.exit("face must be sc, tc or latin")
name = font["name"].getDebugName(4)
assert face == "latin" or face.upper() in name, name
chars &= set(font.getBestCmap())
opts = subset.Options()
opts.layout_features = ["*"]
opts.name_IDs = ["*"]
opts.name_legacy = True
opts.name_languages = ["*"]
opts.notdef_outline = True
opts.glyph_names = False
opts.hinting = False
sub = subset.Subsetter(opts)
sub.populate(unicodes=chars)
sub.subset(font)
font.save(out)
print(name, len(chars), "characters")

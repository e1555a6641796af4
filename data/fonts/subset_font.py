# Extract "Noto Sans CJK SC" (face 2 of the Debian TTC) and subset it to the characters a
# report can need: ASCII, Latin-1, general punctuation, CJK symbols and punctuation,
# full-width forms, and the 6,763 hanzi of GB 2312 (level 1 and 2).
import sys
from fontTools.ttLib import TTCollection
from fontTools import subset

src, out = sys.argv[1], sys.argv[2]
coll = TTCollection(src)
font = coll.fonts[2]
name = font["name"].getDebugName(4)
assert "SC" in name, name
chars = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100)) | set(range(0x2000, 0x2070)) | set(range(0x2190, 0x21FF))
chars |= set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0)) | {0x2022, 0x2026, 0x00D7, 0x2212, 0x2264, 0x2265}
for hi in range(0xB0, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(ord(bytes([hi, lo]).decode("gb2312")))
        except UnicodeDecodeError:
            pass
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

#!/usr/bin/env python3
"""compare-ffprobe.py FFPROBE_JSON VBATCH_JSON: check that vbatch probe's
values agree with ffprobe's on the same file. Prints each disagreement
and exits 1 if there is any."""
import json
import sys
from fractions import Fraction


def ratio(s):
    if s in (None, "0:1", "N/A", "0/0"):
        return None
    return s.replace("/", ":")


def main():
    ff = json.load(open(sys.argv[1]))
    vb = json.load(open(sys.argv[2]))
    if isinstance(vb, list):
        vb = vb[0]
    bad = []

    def eq(what, a, b, tol=None):
        if tol is not None and a is not None and b is not None:
            ok = abs(float(a) - float(b)) <= tol
        else:
            ok = a == b
        if not ok:
            bad.append(f"{what}: ffprobe {a!r} vbatch {b!r}")

    fmt = ff["format"]
    eq("format_name", fmt["format_name"], vb["format"])
    eq("size", int(fmt["size"]), vb["size"])
    eq("duration", float(fmt["duration"]) if "duration" in fmt else None,
       vb["duration"], tol=0.0015)
    fbr = int(fmt["bit_rate"]) if "bit_rate" in fmt else None
    # bit rate follows from duration; allow the same relative slack
    if fbr and vb["bit_rate"]:
        if abs(fbr - vb["bit_rate"]) > max(1, fbr * 0.001):
            bad.append(f"bit_rate: ffprobe {fbr} vbatch {vb['bit_rate']}")
    else:
        eq("bit_rate", fbr, vb["bit_rate"])
    eq("nb_streams", len(ff["streams"]), len(vb["streams"]))
    for fs, vs in zip(ff["streams"], vb["streams"]):
        i = fs["index"]
        p = f"stream {i} "
        eq(p + "type", fs["codec_type"], vs["type"])
        eq(p + "codec", fs.get("codec_name"), vs["codec"])
        prof = fs.get("profile")
        eq(p + "profile", None if prof in (None, "unknown") else prof, vs["profile"])
        sbr = int(fs["bit_rate"]) if "bit_rate" in fs else None
        eq(p + "bit_rate", sbr, vs["bit_rate"])
        lang = fs.get("tags", {}).get("language")
        eq(p + "language", lang, vs["language"])
        if fs["codec_type"] == "video":
            eq(p + "width", fs["width"], vs["width"])
            eq(p + "height", fs["height"], vs["height"])
            eq(p + "sar", ratio(fs.get("sample_aspect_ratio")), ratio(vs["sample_aspect_ratio"]))
            eq(p + "dar", ratio(fs.get("display_aspect_ratio")), ratio(vs["display_aspect_ratio"]))
            eq(p + "avg_frame_rate", ratio(fs["avg_frame_rate"]), ratio(vs["avg_frame_rate"]))
            eq(p + "r_frame_rate", ratio(fs["r_frame_rate"]), ratio(vs["r_frame_rate"]))
            eq(p + "pix_fmt", fs.get("pix_fmt"), vs["pix_fmt"])
            for k in ("color_range", "color_space", "color_transfer", "color_primaries"):
                v = fs.get(k)
                eq(p + k, None if v in (None, "unknown", "unspecified") else v, vs[k])
            rot = 0.0
            for sd in fs.get("side_data_list", []):
                if "rotation" in sd:
                    rot = float(sd["rotation"])
            eq(p + "rotation", rot, vs["rotation"], tol=0.01)
            w, h = fs["width"], fs["height"]
            if round(abs(rot)) % 180 == 90:
                w, h = h, w
            eq(p + "display_width", w, vs["display_width"])
            eq(p + "display_height", h, vs["display_height"])
        elif fs["codec_type"] == "audio":
            eq(p + "sample_rate", int(fs["sample_rate"]), vs["sample_rate"])
            eq(p + "channels", fs["channels"], vs["channels"])
            eq(p + "channel_layout", fs.get("channel_layout"), vs["channel_layout"])
            eq(p + "sample_fmt", fs.get("sample_fmt"), vs["sample_fmt"])
    for b in bad:
        print(f"{sys.argv[2]}: {b}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

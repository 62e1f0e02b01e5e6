# tests/collect/test_captures.sh — every capture decoded and compared with
# tshark field by field (captures_check.py prints the PASS/FAIL lines).
. "$FL_ROOT/tests/lib.sh"
python3 "$FL_ROOT/tests/collect/captures_check.py"

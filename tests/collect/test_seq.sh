# tests/collect/test_seq.sh — sequence-gap accounting exact per protocol
# when known datagrams are dropped (seq_check.py prints PASS/FAIL lines).
. "$FL_ROOT/tests/lib.sh"
python3 "$FL_ROOT/tests/collect/seq_check.py"

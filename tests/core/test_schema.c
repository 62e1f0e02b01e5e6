/* tests/core/test_schema.c — the schema table is complete and consistent. */
#include "core/core.h"
#include "test.h"

TEST(every_column_has_name_type_width_desc)
{
    for (int c = 0; c < FL_COL_COUNT; c++) {
        const fl_col_info *ci = fl_col_get((fl_col)c);
        CHECK(ci != NULL);
        CHECK_EQ_INT(ci->id, c);
        CHECK(ci->name && ci->name[0]);
        CHECK(ci->ctype && ci->ctype[0]);
        CHECK(ci->desc && ci->desc[0]);
        CHECK(ci->unit && ci->unit[0]);
        CHECK_EQ_INT(ci->width, fl_kind_width(ci->kind));
        CHECK(ci->nf_tag && ci->nf_stat && ci->ipfix);
    }
}

TEST(names_unique_and_lookups_roundtrip)
{
    for (int c = 0; c < FL_COL_COUNT; c++) {
        const fl_col_info *ci = fl_col_get((fl_col)c);
        CHECK_EQ_INT(fl_col_by_name(ci->name), c);
        if (ci->nf_stat[0])
            CHECK_EQ_INT(fl_col_by_nf_stat(ci->nf_stat), c);
        for (int d = c + 1; d < FL_COL_COUNT; d++)
            CHECK(strcmp(ci->name, fl_col_get((fl_col)d)->name) != 0);
    }
    CHECK_EQ_INT(fl_col_by_name("no_such_column"), -1);
    CHECK_EQ_INT(fl_col_by_name(""), -1);
}

/* The columns DESIGN.md names, with the nfdump and IPFIX mappings that
 * exist for them. */
TEST(design_columns_have_mappings)
{
    static const struct {
        const char *name, *nf_tag, *nf_stat, *ipfix_first;
    } want[] = {
        {"time_first", "%ts", "", "150"},  {"time_last", "%te", "", "151"},
        {"src_addr", "%sa", "srcip", "8"}, {"dst_addr", "%da", "dstip", "12"},
        {"src_port", "%sp", "srcport", "7"}, {"dst_port", "%dp", "dstport", "11"},
        {"proto", "%pr", "proto", "4"},    {"tcp_flags", "%flg", "", "6"},
        {"src_tos", "%stos", "srctos", "5"}, {"bytes", "%byt", "", "1"},
        {"packets", "%pkt", "", "2"},      {"in_if", "%in", "inif", "10"},
        {"out_if", "%out", "outif", "14"}, {"src_as", "%sas", "srcas", "16"},
        {"dst_as", "%das", "dstas", "17"}, {"next_hop", "%nh", "nhip", "15"},
        {"bgp_next_hop", "%nhb", "nhbip", "18"}, {"src_mask", "%smk", "srcmask", "9"},
        {"dst_mask", "%dmk", "dstmask", "13"}, {"direction", "%dir", "dir", "61"},
        {"src_vlan", "%svln", "srcvlan", "58"}, {"dst_vlan", "%dvln", "dstvlan", "59"},
        {"in_src_mac", "%ismc", "insrcmac", "56"}, {"out_dst_mac", "%odmc", "outdstmac", "57"},
        {"mpls_label1", "%mpls1", "mpls1", "70"}, {"icmp_type", "%it", "", "32"},
        {"engine_type", "%eng", "", "38"}, {"engine_id", "%eng", "", "39"},
        {"sampling_rate", "", "", "34"},   {"end_reason", "", "", "136"},
        {"xlate_src_addr", "%xsa", "xsrcip", "225"}, {"xlate_dst_port", "%xdp", "xdstport", "228"},
        {"src_country", "%sc", "srcgeo", ""}, {"exporter", "%exp", "sysid", ""},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int c = fl_col_by_name(want[i].name);
        const fl_col_info *ci;
        CHECK(c >= 0);
        ci = fl_col_get((fl_col)c);
        CHECK_STR(ci->nf_tag, want[i].nf_tag);
        CHECK_STR(ci->nf_stat, want[i].nf_stat);
        CHECK(strncmp(ci->ipfix, want[i].ipfix_first, strlen(want[i].ipfix_first)) == 0);
    }
}

TEST(kinds_match_c_types)
{
    fl_flow f;
    CHECK_EQ_INT(sizeof f.SRC_ADDR, 16);
    CHECK_EQ_INT(sizeof f.TIME_FIRST, 8);
    CHECK_EQ_INT(sizeof f.PROTO, 1);
    CHECK_EQ_INT(sizeof f.SRC_PORT, 2);
    CHECK_EQ_INT(sizeof f.IN_IF, 4);
    CHECK_EQ_INT(sizeof f.BYTES, 8);
    CHECK_STR(fl_col_get(FL_COL_SRC_ADDR)->ctype, "fl_addr");
    CHECK_STR(fl_kind_name(FL_KIND_MAC), "mac");
    CHECK(fl_col_get((fl_col)FL_COL_COUNT) == NULL);
}

int main(void)
{
    RUN(every_column_has_name_type_width_desc);
    RUN(names_unique_and_lookups_roundtrip);
    RUN(design_columns_have_mappings);
    RUN(kinds_match_c_types);
    TEST_EXIT();
}

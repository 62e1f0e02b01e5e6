# flowlens — plain GNU make.
#
# Why make and not CMake: one C binary, a library of modules and a handful of
# test and fuzz programs; pattern rules express that in a page, there is no
# configure step to go stale, and the sanitizer/fuzz variants are just
# different flags into different build directories.
#
#   make            release build (-O2)            -> build/release/flowlens
#   make asan       ASan+UBSan build used by tests -> build/asan/flowlens
#   make fuzz       libFuzzer targets with clang   -> build/fuzz/fuzz_*
#   make test       everything the tests need, then tests/run.sh
#   make bench      benchmarks against nfdump/nfcapd (bench/run.sh)

CC      ?= cc
CLANG   ?= clang
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wold-style-definition -Wformat=2 -Wvla -Wpointer-arith -Wundef \
           -Wwrite-strings -Wimplicit-fallthrough -Wcast-qual
STD     := -std=c11 -D_GNU_SOURCE
INC     := -Isrc
LIBS    := -lzstd -llz4 -llzo2 -lbz2 -lmicrohttpd -ljansson -lm -lpthread

LIB_SRC := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
# web UI files built into the binary (generated C, see web/build.mjs)
WEB_GEN := build/gen/web_assets.c
LIB_SRC += $(WEB_GEN)
CLI_SRC := $(sort $(wildcard src/cli/*.c))
HDRS    := $(wildcard src/*/*.h src/*/*.def)
TEST_SRC:= $(sort $(wildcard tests/*/test_*.c))
FUZZ_SRC:= $(sort $(wildcard fuzz/fuzz_*.c))

MODE_release := -O2 -g
MODE_asan    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined
MODE_debug   := -O0 -g

.PHONY: all release asan debug fuzz test bench clean
all: release

define mode_rules
build/$(1)/obj/%.o: %.c $(HDRS)
	@mkdir -p $$(dir $$@)
	@echo "  CC $$<"; $$(CC) $(STD) $(WARN) $(MODE_$(1)) $(INC) -c $$< -o $$@

build/$(1)/libflowlens.a: $(patsubst %.c,build/$(1)/obj/%.o,$(LIB_SRC))
	@rm -f $$@
	ar rcs $$@ $$^

build/$(1)/flowlens: $(patsubst %.c,build/$(1)/obj/%.o,$(CLI_SRC)) build/$(1)/libflowlens.a
	$$(CC) $(MODE_$(1)) $$^ -o $$@ $(LIBS)

build/$(1)/tests/%: tests/%.c tests/test.h build/$(1)/libflowlens.a
	@mkdir -p $$(dir $$@)
	@echo "  CC $$<"; $$(CC) $(STD) $(WARN) $(MODE_$(1)) $(INC) -Itests $$< build/$(1)/libflowlens.a -o $$@ $(LIBS)

# fuzz targets replayed over their corpora in the normal test run
build/$(1)/replay/%: fuzz/%.c fuzz/replay_main.c build/$(1)/libflowlens.a
	@mkdir -p $$(dir $$@)
	@echo "  CC $$<"; $$(CC) $(STD) $(WARN) $(MODE_$(1)) $(INC) $$< fuzz/replay_main.c build/$(1)/libflowlens.a -o $$@ $(LIBS)

$(1): build/$(1)/flowlens \
      $(patsubst tests/%.c,build/$(1)/tests/%,$(TEST_SRC)) \
      $(patsubst fuzz/%.c,build/$(1)/replay/%,$(FUZZ_SRC))
endef
$(eval $(call mode_rules,release))
$(eval $(call mode_rules,asan))
$(eval $(call mode_rules,debug))

release: build/release/flowlens

$(WEB_GEN): web/build.mjs web/index.html web/app.js web/app.css web/package-lock.json
	@[ -d web/node_modules/uplot ] || (cd web && npm ci --no-audit --no-fund)
	@echo "  WEB $@"; node web/build.mjs $@

# libFuzzer builds: the whole library rebuilt with clang and the fuzzer's
# coverage instrumentation, one binary per target.
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
build/fuzz/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	@echo "  CLANG $<"; $(CLANG) $(STD) $(WARN) -Wno-unused-command-line-argument $(FUZZ_FLAGS) $(INC) -c $< -o $@
build/fuzz/libflowlens.a: $(patsubst %.c,build/fuzz/obj/%.o,$(LIB_SRC))
	@rm -f $@
	ar rcs $@ $^
build/fuzz/%: fuzz/%.c build/fuzz/libflowlens.a
	@echo "  CLANG $<"; $(CLANG) $(STD) $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined $(INC) $< build/fuzz/libflowlens.a -o $@ $(LIBS)
fuzz: $(patsubst fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))

test:
	bash scripts/test.sh

bench: release
	bash bench/run.sh

clean:
	rm -rf build

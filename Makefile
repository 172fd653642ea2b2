# twostep — top-level build.
#   make          build everything into build/
#   make test     every test (unit, sanitizers, fuzz corpora, integration)
#   make deps     install missing Debian packages (run by make and make test)
#   make fuzz     run each libFuzzer target for FUZZ_SECONDS
#   make demo     the two-server demo (see README)
#   make bench    the benchmark (see BENCHMARKS.md)

SHELL      := /bin/bash
BUILD      := build
CC         ?= cc
CLANG      ?= clang
PKGS       := hiredis libqrencode openssl
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN       := -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes \
              -Wmissing-prototypes -Wno-unused-parameter -Werror=implicit-function-declaration
CFLAGS_COMMON := -std=gnu11 -g -O2 -fPIC -D_GNU_SOURCE $(WARN) -Icommon -Istore $(PKG_CFLAGS)
LIBS       := $(PKG_LIBS) -lpthread
FUZZ_SECONDS ?= 60

CORE_SRCS  := $(sort $(wildcard common/*.c) $(wildcard store/*.c))
CORE_HDRS  := $(wildcard common/*.h) $(wildcard store/*.h)
CORE_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(CORE_SRCS))
ASAN_OBJS  := $(patsubst %.c,$(BUILD)/asan/%.o,$(CORE_SRCS))
CTL_SRCS   := $(sort $(wildcard twostepctl/*.c))
UNIT_SRCS  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
ASAN_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/asan-tests/%,$(UNIT_SRCS))
FUZZ_SRCS  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

OUTPUTS := $(BUILD)/libtwostep.a $(BUILD)/twostepctl
ifneq ($(wildcard mod_twostep/*.c),)
OUTPUTS += $(BUILD)/mod_twostep.so
endif
ifneq ($(wildcard ngx_twostep/config),)
OUTPUTS += $(BUILD)/ngx_http_twostep_module.so
endif

.PHONY: all deps test unit unit-asan fuzz-corpus fuzz integration integration-nginx-mem browser demo bench clean
all: deps
	@$(MAKE) --no-print-directory build-all

.PHONY: build-all
build-all: $(OUTPUTS)

deps:
	@scripts/deps.sh

# ---- the core ------------------------------------------------------------
$(BUILD)/obj/%.o: %.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_COMMON) -c $< -o $@

$(BUILD)/libtwostep.a: $(CORE_OBJS)
	@mkdir -p $(dir $@)
	@echo "  AR      $@"
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/twostepctl: $(CTL_SRCS) $(BUILD)/libtwostep.a $(CORE_HDRS) $(wildcard twostepctl/*.h)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS_COMMON) -Itwostepctl $(CTL_SRCS) $(BUILD)/libtwostep.a $(LIBS) -o $@

# ---- the Apache module -----------------------------------------------------
$(BUILD)/mod_twostep.so: $(wildcard mod_twostep/*.c mod_twostep/*.h) $(BUILD)/libtwostep.a
	scripts/build-apache.sh $(BUILD)

# ---- the nginx module ------------------------------------------------------
$(BUILD)/ngx_http_twostep_module.so: $(wildcard ngx_twostep/*) $(BUILD)/libtwostep.a
	scripts/build-nginx.sh $(BUILD)

# ---- unit tests (cmocka) -------------------------------------------------------
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libtwostep.a $(wildcard tests/unit/*.h tests/unit/flow_harness.c)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(CFLAGS_COMMON) -Itests/unit $< $(BUILD)/libtwostep.a $(LIBS) -lcmocka -o $@

$(BUILD)/asan/%.o: %.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC/ASAN $<"
	@$(CC) $(CFLAGS_COMMON) -O1 $(ASAN_FLAGS) -c $< -o $@

$(BUILD)/libtwostep-asan.a: $(ASAN_OBJS)
	@echo "  AR      $@"
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/asan-tests/%: tests/unit/%.c $(BUILD)/libtwostep-asan.a $(wildcard tests/unit/*.h tests/unit/flow_harness.c)
	@mkdir -p $(dir $@)
	@echo "  LD/ASAN $@"
	@$(CC) $(CFLAGS_COMMON) -O1 $(ASAN_FLAGS) -Itests/unit $< $(BUILD)/libtwostep-asan.a $(LIBS) -lcmocka -o $@

# ---- fuzz targets (clang libFuzzer + ASan/UBSan) ---------------------------
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -Icommon -Istore $(PKG_CFLAGS) \
               -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJS   := $(patsubst %.c,$(BUILD)/fuzzobj/%.o,$(filter common/%.c,$(CORE_SRCS)))

$(BUILD)/fuzzobj/%.o: %.c $(CORE_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC/FUZZ $<"
	@$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/libtwostep-fuzz.a: $(FUZZ_OBJS)
	@echo "  AR      $@"
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libtwostep-fuzz.a
	@mkdir -p $(dir $@)
	@echo "  LD/FUZZ $@"
	@$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(BUILD)/libtwostep-fuzz.a \
	    $(PKG_LIBS) -lpthread -o $@

# ---- test targets ------------------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory build-all
	@$(MAKE) --no-print-directory unit unit-asan fuzz-corpus integration integration-nginx-mem browser

unit: $(UNIT_BINS)
	@scripts/run-unit.sh $(BUILD)/tests $(UNIT_BINS)

unit-asan: $(ASAN_BINS)
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    scripts/run-unit.sh $(BUILD)/asan-tests $(ASAN_BINS)

fuzz-corpus: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	    echo "replaying corpus of $$n"; \
	    $$f -runs=0 tests/fuzz/corpus/$${n#fuzz_} >/dev/null 2>$(BUILD)/fuzz/$$n.log || \
	    { cat $(BUILD)/fuzz/$$n.log; exit 1; }; done

fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	    mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	    echo "fuzzing $$n for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) $(BUILD)/fuzz/corpus-$$n tests/fuzz/corpus/$${n#fuzz_}; done

integration: build-all
	@scripts/run-pytest.sh tests/integration

# the user's journey in headless Chromium against both servers
browser: build-all
	@scripts/run-pytest.sh tests/browser

# nginx with the module and core built with ASan, then nginx under valgrind
integration-nginx-mem: build-all $(BUILD)/libtwostep-asan.a
	@NGX_TWOSTEP_ASAN=1 scripts/build-nginx.sh $(BUILD)
	@TWOSTEP_NGINX_ASAN=1 scripts/run-pytest.sh tests/integration/test_behaviour.py tests/integration/test_behaviour_nginx.py tests/integration/test_nginx_nonblocking.py tests/integration/test_sentinel.py -k nginx
	@TWOSTEP_NGINX_VALGRIND=1 scripts/run-pytest.sh tests/integration/test_behaviour.py -k nginx

demo: deps
	@$(MAKE) --no-print-directory build-all
	@scripts/demo.sh

bench: deps
	@$(MAKE) --no-print-directory build-all
	@scripts/bench.sh

clean:
	rm -rf $(BUILD)

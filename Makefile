# sente-go: `make test` is the one test command (CI runs exactly it).
GO       ?= go
FUZZTIME ?= 5m
BENCH    ?= .
COUNT    ?= 1
JSDIR    := transit/testdata/js

.PHONY: test vet unit jsdeps bench fuzz run cluster idlemem

test: vet jsdeps unit

vet:
	$(GO) vet ./...

# The second run: web's WebSockets never parked, as on a system without
# epoll; and the stack sizes, measured without the race detector, which
# makes frames larger.
unit:
	$(GO) test -race ./...
	$(GO) test -count=1 ./web -args -nopark

# transit-js (the reference Transit implementation) for the cross-check test.
jsdeps: $(JSDIR)/node_modules/.installed

$(JSDIR)/node_modules/.installed: $(JSDIR)/package.json $(JSDIR)/package-lock.json
	npm ci --prefix $(JSDIR) --no-audit --no-fund --loglevel=error
	touch $@

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(COUNT) ./...

# Runs every fuzz target for FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for fz in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$fz ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$fz$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

run:
	$(GO) run ./server

# Three BirdWatch instances on a throwaway redis-server behind a round-robin
# proxy on :8888 (server/cluster; needs redis-server).
cluster:
	$(GO) run ./server/cluster

# What an idle WebSocket costs the server process (RSS, heap, stacks per
# connection, connect time), sente-go next to a raw gorilla hub, with
# IDLE_N clients in a separate load process (web/internal/idlebench).
IDLE_N ?= 10000
IDLE_FLAGS ?=
idlemem:
	$(GO) build -o $${TMPDIR:-/tmp}/sente-idlebench ./web/internal/idlebench
	$${TMPDIR:-/tmp}/sente-idlebench -n $(IDLE_N) $(IDLE_FLAGS)

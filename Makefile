# Parcours. `make demo` runs the demo; `make test` runs every test.
GO      ?= go
WEB     := build/web
E2E     := widgets/e2e
FHIRTEST:= host/backend/fhir/fhirtest
WASM_PATH := $(shell $(GO) env GOROOT)/lib/wasm
# Packages that build for GOOS=js GOARCH=wasm: the browser's, and the Cloudflare Worker's.
JS_PKGS := ./sdk/portal ./sdk/wirejson ./sdk/client ./sdk/questionnaire ./widgets/booking ./widgets/questionnaire ./widgets/messaging ./widgets/documents ./widgets/access ./widgets/internal/... ./wasm/cmd/parcours ./host/cloudflare ./host/cmd/parcours-worker

.PHONY: demo web plugins worker worker-dev test test-js e2e-deps check generate size bench fuzz screenshot clean

## demo: build the Wasm and run the demo: host on 127.0.0.1:8080 (PORT), hospital page on 127.0.0.1:8081 (SITE_PORT)
demo: web plugins
	@[ -d $(FHIRTEST)/node_modules/@medplum/fhir-router ] || (cd $(FHIRTEST) && npm ci --no-audit --no-fund >/dev/null 2>&1) || echo "make demo: no npm here: CH Nord, the FHIR establishment, is off; the demo runs on SQLite alone"
	$(GO) run ./host/cmd/parcours demo

## web: build the widgets' Wasm and its compressed variants into build/web
web:
	$(GO) run ./wasm/cmd/build-web -o $(WEB)

## plugins: build the example plugins (WASI reactors) into build/plugins, loaded by the demo
PLUGINS := booking-rule sms-notify
plugins:
	@mkdir -p build/plugins
	@set -e; for p in $(PLUGINS); do \
	  echo "GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o build/plugins/$$p.wasm ./examples/plugins/$$p"; \
	  GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -o build/plugins/$$p.wasm ./examples/plugins/$$p; \
	done

## worker: build the Cloudflare Worker (host/cmd/parcours-worker) into build/worker, its static assets (the browser files of make web) into build/worker-assets, and print its gzip size (free plan: 3 MB)
WORKER := host/cmd/parcours-worker
worker: web
	@mkdir -p build/worker
	GOOS=js GOARCH=wasm $(GO) build -tags parcours_nocompress -trimpath -ldflags="-s -w" -o build/worker/parcours.wasm ./$(WORKER)
	cp $(WORKER)/worker.mjs $(WORKER)/state.mjs $(WORKER)/assets.mjs $(WASM_PATH)/wasm_exec.js build/worker/
	$(GO) run ./$(WORKER)/assetgen -web $(WEB) -o build/worker -assets build/worker-assets
	@echo "build/worker/parcours.wasm: $$(wc -c < build/worker/parcours.wasm) bytes, $$(gzip -9c build/worker/parcours.wasm | wc -c) gzip"

## worker-dev: run the Worker offline under workerd on 127.0.0.1:8787 (pinned in $(WORKER)/package-lock.json); PARCOURS_CONFIG from build/worker/config.json, by default on the FHIR test server with the demo's CH Nord on 127.0.0.1:8103, started with it when nothing answers there
worker-dev: worker
	@[ -x $(WORKER)/node_modules/.bin/workerd ] || (cd $(WORKER) && npm ci --no-audit --no-fund)
	@[ -d $(FHIRTEST)/node_modules/@medplum/fhir-router ] || (cd $(FHIRTEST) && npm ci --no-audit --no-fund)
	@[ -f build/worker/config.json ] || echo '{"public_url":"http://127.0.0.1:8787","fhir_url":"http://127.0.0.1:8103/fhir/R4","establishment":{"id":"ch-nord","origins":["http://127.0.0.1:8081"]}}' > build/worker/config.json
	cd $(WORKER) && $(GO) run ../../backend/fhir/fhirtest/fhirdemo -config ../../../build/worker/config.json -- ./node_modules/.bin/workerd serve workerd.capnp --verbose

## test: every test: unit, conformance, race, fuzz seeds, the browser build, and end to end in Chromium
# -timeout 20m: the host package takes 5 to 6 minutes under -race on 2 cores, near go test's default 10.
test: e2e-deps
	@mkdir -p build
	@echo "PARCOURS_E2E=1 $(GO) test -race -count=1 -timeout 20m -v ./... > build/test-run.log"
	@PARCOURS_E2E=1 $(GO) test -race -count=1 -timeout 20m -v ./... > build/test-run.log 2>&1; s=$$?; \
	if [ $$s -eq 0 ]; then grep -E '^(ok|FAIL|\?) ' build/test-run.log; \
	else grep -vE '^ *(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|SKIP))' build/test-run.log; fi; \
	echo "go run ./host/internal/logscan build/test-run.log   # no secret in the logs of the whole run"; \
	$(GO) run ./host/internal/logscan build/test-run.log || s=1; exit $$s
	$(MAKE) test-js

## test-js: the packages that run in the browser, tested on GOOS=js GOARCH=wasm under node
test-js:
	PATH="$(WASM_PATH):$$PATH" GOOS=js GOARCH=wasm $(GO) test -count=1 ./sdk/portal ./sdk/wirejson ./widgets/booking ./widgets/questionnaire ./widgets/messaging ./widgets/documents ./widgets/access ./widgets/internal/...

e2e-deps: $(E2E)/node_modules/.package-lock.json $(FHIRTEST)/node_modules/.package-lock.json host/cmd/parcours-worker/node_modules/.package-lock.json

# wrangler and workerd (host/cmd/parcours-worker), pinned.
host/cmd/parcours-worker/node_modules/.package-lock.json: host/cmd/parcours-worker/package-lock.json
	cd host/cmd/parcours-worker && npm ci --no-audit --no-fund

$(E2E)/node_modules/.package-lock.json: $(E2E)/package-lock.json
	cd $(E2E) && npm ci --no-audit --no-fund

# The FHIR R4 test server (host/backend/fhir/fhirtest): Medplum's FHIR engine, pinned.
$(FHIRTEST)/node_modules/.package-lock.json: $(FHIRTEST)/package-lock.json
	cd $(FHIRTEST) && npm ci --no-audit --no-fund

## generate: regenerate vugu components (slimmed by wasm/internal/genslim) and vugu's static helper script
# vugugen parses every .go file of a directory and refuses an external test
# package, so it runs on a copy of each component directory without tests.
VUGU_DIRS := widgets/booking widgets/questionnaire widgets/messaging widgets/documents widgets/access
generate:
	@set -e; for d in $(VUGU_DIRS); do \
	  tmp=$$(mktemp -d); \
	  cp $$d/*.vugu $$tmp/; \
	  for f in $$d/*.go; do case $$f in *_test.go|*_gen.go) ;; *) cp $$f $$tmp/;; esac; done; \
	  $(GO) tool vugugen -skip-go-mod -skip-main $$tmp; \
	  $(GO) run ./wasm/internal/genslim $$tmp/*_gen.go; \
	  gofmt -w $$tmp/*_gen.go; \
	  cp $$tmp/*_gen.go $$d/; \
	  rm -rf $$tmp; \
	done
	$(GO) generate ./wasm/web

## check: formatting, vet (linux and js/wasm), generated code fresh, go.mod tidy
check: generate
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet $(JS_PKGS)
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./sdk/plugin/... ./examples/plugins/...
	GOOS=js GOARCH=wasm $(GO) vet -tags parcours_nocompress ./host/cmd/parcours-worker
	@git diff --exit-code -- '*_gen.go' wasm/web/vugu-helper.js || { echo "generated code is stale: run make generate and commit"; exit 1; }
	$(GO) mod tidy -diff
	cd wasm/replace/vjson && $(GO) vet ./... && $(GO) mod tidy -diff
	cd wasm/replace/pretty && $(GO) vet ./... && $(GO) mod tidy -diff

## size: raw, gzip, brotli and zstd bytes of the Wasm, wasm_exec.js and the loader
size: web
	$(GO) run ./wasm/cmd/build-web -o $(WEB) -sizes-only

## bench: measure sizes, the host, booking contention, the widgets in Chromium, and the questionnaire widget against LHC-Forms and Medplum (their npm packages installed here only, in widgets/e2e/peers); writes docs/benchmarks.md
bench: e2e-deps web
	$(GO) run ./host/cmd/parcours-bench -web $(WEB) -o docs/benchmarks.md

## fuzz: run each fuzz target for FUZZTIME (default 20s)
FUZZTIME ?= 20s
fuzz:
	$(GO) test ./host/backend/fhir -run='^$$' -fuzz='^FuzzParseOperationOutcome$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/backend/fhir -run='^$$' -fuzz='^FuzzParseSlot$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/backend/fhir -run='^$$' -fuzz='^FuzzParseAppointment$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/backend/fhir -run='^$$' -fuzz='^FuzzParseBundle$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/backend/fhir -run='^$$' -fuzz='^FuzzParseDocument$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/backend/fhir -run='^$$' -fuzz='^FuzzParseQuestionnaire$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/backend/fhir -run='^$$' -fuzz='^FuzzParseCommunication$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/cmd/parcours -run='^$$' -fuzz='^FuzzParseSiteConfig$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host -run='^$$' -fuzz=FuzzParseBookBody -fuzztime=$(FUZZTIME)
	$(GO) test ./host -run='^$$' -fuzz=FuzzParseDemoSignIn -fuzztime=$(FUZZTIME)
	$(GO) test ./host -run='^$$' -fuzz=FuzzParseSlotQuery -fuzztime=$(FUZZTIME)
	$(GO) test ./host -run='^$$' -fuzz=FuzzThemeCSS -fuzztime=$(FUZZTIME)
	$(GO) test ./host -run='^$$' -fuzz=FuzzNegotiate -fuzztime=$(FUZZTIME)
	$(GO) test ./widgets/booking -run='^$$' -fuzz=FuzzParseFormState -fuzztime=$(FUZZTIME)
	$(GO) test ./widgets/access -run='^$$' -fuzz=FuzzParseFormState -fuzztime=$(FUZZTIME)
	$(GO) test ./host/plugin -run='^$$' -fuzz=FuzzParsePluginOutput -fuzztime=$(FUZZTIME)
	$(GO) test ./sdk/questionnaire -run='^$$' -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./sdk/questionnaire -run='^$$' -fuzz='^FuzzEvaluate$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./sdk/questionnaire -run='^$$' -fuzz='^FuzzReadResponse$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./sdk/questionnaire -run='^$$' -fuzz='^FuzzLexical$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./widgets/questionnaire -run='^$$' -fuzz='^FuzzParseFormState$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./widgets/questionnaire -run='^$$' -fuzz='^FuzzApplyForm$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./sdk/portal -run='^$$' -fuzz='^FuzzSniffAttachment$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./sdk/portal -run='^$$' -fuzz='^FuzzFoldSearch$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host -run='^$$' -fuzz='^FuzzParseDocumentFilter$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host -run='^$$' -fuzz='^FuzzSafeReturn$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host -run='^$$' -fuzz='^FuzzValidChallenge$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host -run='^$$' -fuzz='^FuzzReadMultipartPost$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/idp -run='^$$' -fuzz='^FuzzLoginForm$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/idp -run='^$$' -fuzz='^FuzzNormalizeCode$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/cloudflare -run='^$$' -fuzz='^FuzzSplitHeaders$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/cmd/parcours-worker -run='^$$' -fuzz='^FuzzBuild$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./host/backend/fhir -run='^$$' -fuzz='^FuzzConsent$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./sdk/client/uri -run='^$$' -fuzz='^FuzzEscape$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./sdk/wirejson -run='^$$' -fuzz='^FuzzUnmarshal$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./wasm/replace -run='^$$' -fuzz='^FuzzVJSONUnmarshal$$' -fuzztime=$(FUZZTIME)
	$(GO) test ./wasm/replace -run='^$$' -fuzz='^FuzzPretty$$' -fuzztime=$(FUZZTIME)

## screenshot: refresh docs/booking.png from the end-to-end test
screenshot: e2e-deps
	PARCOURS_E2E=1 PARCOURS_SCREENSHOT=$(CURDIR)/docs/booking.png $(GO) test -count=1 -run TestBookingInChromium ./widgets/e2e

clean:
	rm -rf build

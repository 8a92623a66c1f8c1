import { assertEquals } from "./assert.ts";
import {
  redactUrl,
  redactUrlsIn,
  requestedUrl,
  trackUrl,
} from "../src/publish/url.ts";
import { publishTargets } from "../src/publish/targets.ts";

// Standard base64 uses "+", "/" and "=": all must survive the query string.
const DATA = "eyJh+b/c=";
const ENCODED = "eyJh%2Bb%2Fc%3D";

Deno.test("trackUrl: host only, with and without trailing slash", () => {
  for (const base of ["http://127.0.0.1:8001", "http://127.0.0.1:8001/"]) {
    assertEquals(
      trackUrl(base, DATA).href,
      `http://127.0.0.1:8001/track?data=${ENCODED}&verbose=1`,
    );
  }
});

Deno.test("trackUrl: a base with a path keeps it", () => {
  assertEquals(
    trackUrl("http://host/base", DATA).href,
    `http://host/base/track?data=${ENCODED}&verbose=1`,
  );
  assertEquals(
    trackUrl("https://host:9443/a/b//", DATA).href,
    `https://host:9443/a/b/track?data=${ENCODED}&verbose=1`,
  );
});

Deno.test("trackUrl: a URL that already ends in /track is used as it is", () => {
  for (const base of ["http://host/track", "http://host/track/"]) {
    assertEquals(
      trackUrl(base, DATA).href,
      `http://host/track?data=${ENCODED}&verbose=1`,
    );
  }
  assertEquals(
    trackUrl("http://host/base/track", DATA).pathname,
    "/base/track",
  );
  // only a whole last segment: /mytrack is a base like any other
  assertEquals(
    trackUrl("http://host/mytrack", DATA).pathname,
    "/mytrack/track",
  );
});

Deno.test("requestedUrl: the URL actually requested, fit for logs", () => {
  assertEquals(
    requestedUrl("http://u:pw@host:8001/"),
    "http://host:8001/track",
  );
  assertEquals(requestedUrl("http://host/b/track?k=v"), "http://host/b/track");
  assertEquals(requestedUrl("s3cret not a url"), "(not a valid URL)");
});

Deno.test("trackUrl: the base's query and fragment are not forwarded", () => {
  const url = trackUrl("http://host/base?data=evil&verbose=0&k=v#frag", DATA);
  assertEquals(url.href, `http://host/base/track?data=${ENCODED}&verbose=1`);
  assertEquals(url.searchParams.getAll("data"), [DATA]);
});

Deno.test("trackUrl: data decodes back byte-exact; credentials kept for fetch", () => {
  const url = trackUrl("http://user:pw@host", DATA);
  assertEquals(url.searchParams.get("data"), DATA);
  assertEquals([url.username, url.password], ["user", "pw"]);
});

Deno.test("trackUrl: not a URL throws a TypeError", () => {
  let error: unknown;
  try {
    trackUrl("not a url", DATA);
  } catch (err) {
    error = err;
  }
  assertEquals(error instanceof TypeError, true);
});

Deno.test("redactUrl: no credentials, query, fragment or trailing slash", () => {
  assertEquals(
    redactUrl("https://user:s3cret@host:8443/base/?key=abc#x"),
    "https://host:8443/base",
  );
  assertEquals(
    redactUrl(new URL("http://127.0.0.1:8001/")),
    "http://127.0.0.1:8001",
  );
  assertEquals(
    redactUrl(trackUrl("http://u:p@h/b", DATA)),
    "http://h/b/track",
  );
  // text that is not a URL is not echoed: it could be a secret
  assertEquals(redactUrl("s3cret not a url"), "(not a valid URL)");
});

Deno.test("redactUrlsIn: URLs inside an error message are redacted", () => {
  assertEquals(
    redactUrlsIn(
      "error sending request for url (http://u:pw@127.0.0.1:9/track?data=abc&verbose=1): refused",
    ),
    "error sending request for url (http://127.0.0.1:9/track): refused",
  );
});

const SELDON = "http://hodometer.seldon.io";

Deno.test("publishTargets: PUBLISH_URL first, then the extras", () => {
  assertEquals(
    publishTargets({
      publishUrl: SELDON,
      extraPublishUrls: ["http://a:1", "http://b:2/x"],
      doNotTrack: false,
    }),
    { urls: [SELDON, "http://a:1", "http://b:2/x"], skippedSeldon: false },
  );
});

Deno.test("publishTargets: DO_NOT_TRACK skips PUBLISH_URL, keeps the extras", () => {
  assertEquals(
    publishTargets({
      publishUrl: SELDON,
      extraPublishUrls: ["http://a:1"],
      doNotTrack: true,
    }),
    { urls: ["http://a:1"], skippedSeldon: true },
  );
  assertEquals(
    publishTargets({
      publishUrl: SELDON,
      extraPublishUrls: [],
      doNotTrack: true,
    }),
    { urls: [], skippedSeldon: true },
  );
});

Deno.test("publishTargets: duplicates are delivered once", () => {
  assertEquals(
    publishTargets({
      publishUrl: "http://a:1",
      extraPublishUrls: [
        "http://A:1/",
        "http://b",
        "http://b:80",
        "http://b/",
        "http://b/track",
      ],
      doNotTrack: false,
    }),
    { urls: ["http://a:1", "http://b"], skippedSeldon: false },
  );
});

package sanitize

import (
	"strings"
	"testing"
)

// xssPayloads are classic cross-site scripting vectors; none may survive.
var xssPayloads = []string{
	`<script>alert(1)</script>`,
	`<SCRIPT>alert(1)</SCRIPT>`,
	`<ScRiPt src=//evil.example/x.js></sCrIpT>`,
	`<script/xss src="http://evil.example/x.js"></script>`,
	`<<script>alert(1);//<</script>`,
	`<script>alert(1)`,
	`<a href="javascript:alert(1)">x</a>`,
	`<a href="JaVaScRiPt:alert(1)">x</a>`,
	`<a href=" javascript:alert(1)">x</a>`,
	`<a href="jav	ascript:alert(1)">x</a>`,
	"<a href=\"jav\nascript:alert(1)\">x</a>",
	`<a href="jav&#x09;ascript:alert(1)">x</a>`,
	`<a href="jav&#x0A;ascript:alert(1)">x</a>`,
	`<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>`,
	`<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>`,
	`<a href="javascript&colon;alert(1)">x</a>`,
	`<a href="javascript&#0000058alert(1)">x</a>`,
	"<a href=\"java\x00script:alert(1)\">x</a>",
	`<a href="vbscript:msgbox(1)">x</a>`,
	`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
	`<a href="DATA:text/html,<script>alert(1)</script>">x</a>`,
	`<a href="//evil.example/">x</a>`,
	`<a href="/admin/delete?all=1">x</a>`,
	`<a href="https:evil.example">x</a>`,
	`<a href=javascript:alert(1)>x`,
	`<img src=x onerror=alert(1)>`,
	`<IMG SRC="javascript:alert(1);" alt="pic">`,
	`<img src="http://tracker.example/pixel.gif" width=1 height=1>`,
	`<img srcset="http://tracker.example/a.png 1x">`,
	`<svg onload=alert(1)>`,
	`<svg><script>alert(1)</script></svg>`,
	`<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>`,
	`<body onload=alert(1)>`,
	`<div onmouseover="alert(1)">hover</div>`,
	`<p ONCLICK=alert(1)>x</p>`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	`<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>`,
	`<object data="javascript:alert(1)"></object>`,
	`<embed src="http://evil.example/x.swf">`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<base href="javascript:alert(1)//">`,
	`<link rel=stylesheet href="http://evil.example/x.css">`,
	`<style>body{background:url("javascript:alert(1)")}</style>`,
	`<div style="width: expression(alert(1));">x</div>`,
	`<div style="background-image: url(http://tracker.example/x)">x</div>`,
	`<table background="http://tracker.example/x"><tr><td>x</td></tr></table>`,
	`<form action="http://evil.example"><button formaction="javascript:alert(1)">x</button></form>`,
	`<input type=image src=x onerror=alert(1)>`,
	`<template><script>alert(1)</script></template>`,
	`<!--<script>alert(1)</script>-->`,
	`<!-- --!><script>alert(1)</script> -->`,
	`<![CDATA[<script>alert(1)</script>]]>`,
	`<div><![CDATA[</div><script>alert(1)</script>]]></div>`,
	"<scr\x00ipt>alert(1)</scr\x00ipt>",
	"<a href=\"\x00javascript:alert(1)\">x</a>",
	`+ADw-script+AD4-alert(1)+ADw-/script+AD4-`,
	`<a href="+ADw-script+AD4-">x</a>`,
	`<div <script>alert(1)</script>>`,
	`<a title="x" onclick="alert(1)" href="http://ok.example/">ok</a>`,
	`<a href="http://ok.example/" href="javascript:alert(1)">dup</a>`,
	`<p><b><i>unclosed`,
	`</div></div><script>alert(1)</script>`,
	`<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`,
	`<textarea><script>alert(1)</script></textarea>`,
	`<title><script>alert(1)</script></title>`,
	`<xmp><script>alert(1)</script></xmp>`,
	`<plaintext><script>alert(1)</script>`,
	`<video><source onerror="alert(1)"></video>`,
	`<details open ontoggle=alert(1)>`,
	`<marquee onstart=alert(1)>x</marquee>`,
	`<isindex action="javascript:alert(1)" type=image>`,
	`<a href="http://ok.example/" target="_top" ping="http://tracker.example/">x</a>`,
	`<td colspan="2 onmouseover=alert(1)">x</td>`,
	`<ol start="1;alert(1)"><li>x</li></ol>`,
	`<span data-x="y" class="c" id="i" lang="en">x</span>`,
	`<a href="mailto:a@example.org?subject=hi">mail</a>`,
	`<a href="https://ok.example/path?q=1&amp;r=&quot;2&quot;">q</a>`,
}

func TestXSSPayloads(t *testing.T) {
	t.Parallel()
	if len(xssPayloads) < 40 {
		t.Fatalf("only %d payloads", len(xssPayloads))
	}
	for _, p := range xssPayloads {
		out := HTML(p)
		if err := checkSafe(out); err != nil {
			t.Errorf("HTML(%q) = %q: %v", p, out, err)
		}
		if err := checkBalanced(out); err != nil {
			t.Errorf("HTML(%q) = %q: %v", p, out, err)
		}
		for _, bad := range []string{"<script", "<iframe", "<svg", "<img", "<style", "<meta", "<base", "<object"} {
			if strings.Contains(strings.ToLower(out), bad) {
				t.Errorf("HTML(%q) = %q contains %s", p, out, bad)
			}
		}
	}
}

func TestHTMLKeeps(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`<p>Hello <b>world</b></p>`, `<p>Hello <b>world</b></p>`},
		{`<P CLASS=x>a<BR>b</P>`, `<p>a<br>b</p>`},
		{`<a href="https://example.org/a?b=1&amp;c=2" onclick="x">l</a>`,
			`<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener noreferrer">l</a>`},
		{`<a href="javascript:alert(1)">l</a>`, `<a rel="nofollow noopener noreferrer">l</a>`},
		{`<a href="MAILTO:a@example.org">m</a>`, `<a href="MAILTO:a@example.org" rel="nofollow noopener noreferrer">m</a>`},
		{`<img src="http://x/y.png" alt="a <logo>">`, `a &lt;logo&gt;`},
		{`<script>x</script>after`, `after`},
		{`<style>p{}</style><p>t</p>`, `<p>t</p>`},
		{`<svg><svg></svg>hidden</svg>shown`, `shown`},
		{`<div><p>open`, `<div><p>open</p></div>`},
		{`<b><i>x</b>y</i>`, `<b><i>x</i></b>y`},
		{`</p>stray`, `stray`},
		{`<div/>after`, `<div></div>after`},
		{`<font color=red>red</font>`, `red`},
		{`<table><tr><td colspan="2">c</td></tr></table>`, `<table><tr><td colspan="2">c</td></tr></table>`},
		{`<!-- c -->x<!DOCTYPE html>`, `x`},
		{"a\x00b &lt;c&gt; &amp;", "ab &lt;c&gt; &amp;"},
		{`<ol start=3><li>x</ol>`, `<ol start="3"><li>x</li></ol>`},
		{`<html><head><title>T</title></head><body>B</body></html>`, `B`},
	}
	for _, tt := range tests {
		if got := HTML(tt.in); got != tt.want {
			t.Errorf("HTML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHTMLDepth(t *testing.T) {
	t.Parallel()
	in := strings.Repeat("<div>", 10000) + "deep"
	out := HTML(in)
	if strings.Count(out, "<div>") != maxDepth || !strings.Contains(out, "deep") {
		t.Errorf("depth: %d divs", strings.Count(out, "<div>"))
	}
	if err := checkBalanced(out); err != nil {
		t.Error(err)
	}
}

func TestSafeURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"http://example.org/", "http://example.org/"},
		{" HTTPS://example.org/x ", "HTTPS://example.org/x"},
		{"mailto:a@b", "mailto:a@b"},
		{"ja\tvascript:x", ""},
		{"javascript:x", ""},
		{"http:/x", ""},
		{"http:x", ""},
		{"ftp://example.org/", ""},
		{"relative/path", ""},
		{"#frag", ""},
		{"", ""},
		{"\u0001javascript:x", ""},
		{"ht\ntp://example.org/", "http://example.org/"},
	}
	for _, tt := range tests {
		if got := SafeURL(tt.in); got != tt.want {
			t.Errorf("SafeURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`<p>Hello   <b>world</b></p><p>Second</p>`, "Hello world\n\nSecond"},
		{`<script>var x</script><style>p{}</style>Only <i>this</i>`, "Only this"},
		{`a<br>b<br><br><br><br>c`, "a\nb\n\nc"},
		{`<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>`, "1\t2\n3"},
		{`<pre>  keep
   spaces</pre>after`, "  keep\n   spaces\n\nafter"},
		{`x<img alt="logo">y`, "x logo y"},
		{`&lt;tag&gt; &amp; &eacute;`, "<tag> & é"},
		{`<ul><li>one</li><li>two</li></ul>`, "one\ntwo"},
		{``, ""},
	}
	for _, tt := range tests {
		if got := Text(tt.in); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

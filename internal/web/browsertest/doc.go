// Package browsertest drives the pages in Debian's chromium with chromedp:
// the citizen journey with JavaScript on and off, the races people meet
// (a slot taken while they type, a double click on confirm), the manage
// pages and the staff console. Every page visited is screenshotted and
// scanned with axe-core. The tests need VAXBOOK_AXE_JS (the path of
// axe.min.js); without it they skip, unless VAXBOOK_REQUIRE_BROWSER is set.
package browsertest

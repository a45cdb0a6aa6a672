// Package redact masks secrets in text before it reaches a terminal or a
// transcript. A Masker knows the secrets of a run (sensitive variables, and
// any secret a plugin declares) and replaces every occurrence of each one,
// and of its common encodings, with "(sensitive)": URL escaping of any of
// its bytes (%2F or %2f, + for a space), and base64 (standard and URL
// alphabets, padded or not, at any of the three byte offsets a secret can
// start at inside a longer encoded text such as "user:TOKEN" in a Basic
// authorization header, and wrapped over lines like `base64 -w 20` prints
// it). Its StreamWriter does the same for output that arrives in chunks.
package redact

// Package pluginversion owns the version constraint of a plugin block
// (`version = ">= 0.2, < 1.0"`): parsing it, and checking it against the
// version an external plugin reports. Versions are dot-separated numbers
// with an optional pre-release ("1.2.0-rc.1") and build ("+abc", ignored),
// an optional leading "v"; missing trailing numbers are zeros ("1.2" is
// 1.2.0). Pre-releases order as semantic versioning says: 1.0.0-rc.1 <
// 1.0.0.
package pluginversion

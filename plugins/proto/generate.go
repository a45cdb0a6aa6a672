// Package proto holds the definition of the runbook plugin protocol
// (runbookplugin/v1/plugin.proto) and the Go code generated from it, which is
// committed so that building runbook never needs protoc.
//
// To regenerate after editing the .proto file, with protoc 3.21 (Debian's
// protobuf-compiler), protoc-gen-go v1.36.12 and protoc-gen-go-grpc v1.6.2
// on $PATH:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
//	go generate ./plugins/proto
package proto

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative runbookplugin/v1/plugin.proto

import EtcdProto
import Foundation
import GRPCCore

extension EtcdStore {
    public func create(_ key: String, value: [UInt8]) async throws -> StoredObject {
        try KeyRange.validate(key: key)
        let keyData = Data(key.utf8)
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [Self.compare(keyData, .create, .equal, revision: 0)]
        txn.success = [Self.put(keyData, value)]
        let response = try await call("create \(key)") { try await $0.kv.txn(txn, options: callOptions) }
        if !response.succeeded { throw StorageError.alreadyExists(key: key) }
        let revision = response.header.revision
        return StoredObject(key: key, value: value, createRevision: revision, modRevision: revision)
    }

    public func update(_ key: String, value: [UInt8], expectedRevision: Int64?) async throws -> StoredObject {
        try KeyRange.validate(key: key)
        let keyData = Data(key.utf8)
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [Self.guardCompare(keyData, expectedRevision)]
        txn.success = [Self.put(keyData, value)]
        txn.failure = [Self.range(keyData)]
        let response = try await call("update \(key)") { try await $0.kv.txn(txn, options: callOptions) }
        guard response.succeeded else { throw Self.refusal(key, expectedRevision, response) }
        let previous = response.responses.first?.responsePut.prevKv
        return StoredObject(
            key: key, value: value, createRevision: previous?.createRevision ?? 0, modRevision: response.header.revision)
    }

    public func delete(_ key: String, expectedRevision: Int64?) async throws -> StoredObject {
        try KeyRange.validate(key: key)
        let keyData = Data(key.utf8)
        var delete = Etcdserverpb_DeleteRangeRequest()
        delete.key = keyData
        delete.prevKv = true
        var operation = Etcdserverpb_RequestOp()
        operation.requestDeleteRange = delete
        var txn = Etcdserverpb_TxnRequest()
        txn.compare = [Self.guardCompare(keyData, expectedRevision)]
        txn.success = [operation]
        txn.failure = [Self.range(keyData)]
        let response = try await call("delete \(key)") { try await $0.kv.txn(txn, options: callOptions) }
        guard response.succeeded else { throw Self.refusal(key, expectedRevision, response) }
        guard let last = response.responses.first?.responseDeleteRange.prevKvs.first else {
            throw StorageError.notFound(key: key)
        }
        var object = Self.object(last)
        object.modRevision = response.header.revision
        return object
    }

    /// The condition of an update or delete: the key's mod_revision is `expected`, or (no
    /// expectation) the key exists.
    static func guardCompare(_ key: Data, _ expected: Int64?) -> Etcdserverpb_Compare {
        if let expected { return compare(key, .mod, .equal, revision: expected) }
        return compare(key, .create, .greater, revision: 0)
    }

    static func compare(
        _ key: Data, _ target: Etcdserverpb_Compare.CompareTarget, _ result: Etcdserverpb_Compare.CompareResult,
        revision: Int64
    ) -> Etcdserverpb_Compare {
        var compare = Etcdserverpb_Compare()
        compare.key = key
        compare.target = target
        compare.result = result
        switch target {
        case .mod: compare.modRevision = revision
        default: compare.createRevision = revision
        }
        return compare
    }

    static func put(_ key: Data, _ value: [UInt8]) -> Etcdserverpb_RequestOp {
        var put = Etcdserverpb_PutRequest()
        put.key = key
        put.value = Data(value)
        put.prevKv = true
        var operation = Etcdserverpb_RequestOp()
        operation.requestPut = put
        return operation
    }

    static func range(_ key: Data) -> Etcdserverpb_RequestOp {
        var range = Etcdserverpb_RangeRequest()
        range.key = key
        var operation = Etcdserverpb_RequestOp()
        operation.requestRange = range
        return operation
    }

    /// Why a conditional write failed, from the failure branch's read of the key.
    static func refusal(_ key: String, _ expected: Int64?, _ response: Etcdserverpb_TxnResponse) -> StorageError {
        guard let current = response.responses.first?.responseRange.kvs.first else {
            return .notFound(key: key)
        }
        return .conflict(key: key, expected: expected ?? 0, actual: current.modRevision)
    }
}

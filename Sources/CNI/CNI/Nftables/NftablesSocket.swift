#if canImport(Glibc)
import Glibc
#endif
import CMnl
import CNftnl
import SystemCore
import SystemPackage

/// A failed nftables request: what the plugin was doing and the kernel's errno.
public struct NftablesError: Error, Sendable, CustomStringConvertible {
    public let operation: String
    public let errno: Errno

    public var description: String { "nftables \(operation): \(errno.description)" }
}

/// A rule read back from the kernel.
public struct NftListedRule: Sendable, Equatable {
    public var chain: String
    public var handle: UInt64
    public var comment: String?
}

/// One change in a transaction.
public enum NftChange: Sendable {
    case addTable
    case deleteTable
    case addChain(name: String, hook: Bool)
    case flushChain(String)
    case addRule(NftRule)
    case deleteRule(chain: String, handle: UInt64)

    var summary: String {
        switch self {
        case .addTable: "add table"
        case .deleteTable: "delete table"
        case .addChain(let name, _): "add chain \(name)"
        case .flushChain(let name): "flush chain \(name)"
        case .addRule(let rule): "add rule to \(rule.chain)\(rule.comment.map { " (\($0))" } ?? "")"
        case .deleteRule(let chain, let handle): "delete rule \(handle) from \(chain)"
        }
    }
}

/// A NETLINK_NETFILTER socket that sends nftables transactions for the plugin's `inet` table
/// (libnftnl builds the messages, libmnl batches and sends them). A transaction is atomic: the
/// kernel applies all of it or none.
public final class NftablesSocket {
    private let socket: OpaquePointer
    private let portID: UInt32
    private var sequence: UInt32
    public let table: String
    private let family = UInt16(NFPROTO_INET)

    public init(table: String) throws(NftablesError) {
        guard let socket = mnl_socket_open(NETLINK_NETFILTER) else {
            throw NftablesError(operation: "open netlink socket", errno: .init(rawValue: currentErrno()))
        }
        if mnl_socket_bind(socket, 0, pid_t(MNL_SOCKET_AUTOPID)) < 0 {
            let error = NftablesError(operation: "bind netlink socket", errno: .init(rawValue: currentErrno()))
            mnl_socket_close(socket)
            throw error
        }
        // Never wait forever for the kernel's answer.
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(mnl_socket_get_fd(socket), SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.socket = socket
        self.portID = mnl_socket_get_portid(socket)
        self.sequence = UInt32(truncatingIfNeeded: time(nil))
        self.table = table
    }

    deinit { mnl_socket_close(socket) }

    // MARK: Transactions

    /// Sends `changes` as one batch and waits for every acknowledgement.
    public func commit(_ changes: [NftChange]) throws(NftablesError) {
        guard !changes.isEmpty else { return }
        let size = 65536 + changes.count * 1024
        var buffer = [UInt8](repeating: 0, count: size)
        var expected: [UInt32: String] = [:]
        let built: Int32 = buffer.withUnsafeMutableBytes { raw -> Int32 in
            guard let base = raw.baseAddress, let batch = mnl_nlmsg_batch_start(base, raw.count) else { return -1 }
            defer { mnl_nlmsg_batch_stop(batch) }
            nftnl_batch_begin(mnl_nlmsg_batch_current(batch).assumingMemoryBound(to: CChar.self), nextSequence())
            mnl_nlmsg_batch_next(batch)
            for change in changes {
                let seq = nextSequence()
                expected[seq] = change.summary
                let current = mnl_nlmsg_batch_current(batch).assumingMemoryBound(to: CChar.self)
                guard build(change, into: current, sequence: seq) else { return -1 }
                if !mnl_nlmsg_batch_next(batch) { return -1 }
            }
            nftnl_batch_end(mnl_nlmsg_batch_current(batch).assumingMemoryBound(to: CChar.self), nextSequence())
            mnl_nlmsg_batch_next(batch)
            let length = mnl_nlmsg_batch_size(batch)
            return mnl_socket_sendto(socket, mnl_nlmsg_batch_head(batch), length) < 0 ? -2 : 0
        }
        if built == -1 { throw NftablesError(operation: "build transaction", errno: .noMemory) }
        if built == -2 { throw NftablesError(operation: "send transaction", errno: .init(rawValue: currentErrno())) }
        try awaitAcks(expected)
    }

    private func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    private func build(_ change: NftChange, into buffer: UnsafeMutablePointer<CChar>, sequence seq: UInt32) -> Bool {
        let ack = UInt16(NLM_F_ACK)
        switch change {
        case .addTable, .deleteTable:
            guard let object = nftnl_table_alloc() else { return false }
            defer { nftnl_table_free(object) }
            nftnl_table_set_str(object, UInt16(NFTNL_TABLE_NAME.rawValue), table)
            let isAdd = if case .addTable = change { true } else { false }
            let type = UInt16(isAdd ? NFT_MSG_NEWTABLE.rawValue : NFT_MSG_DELTABLE.rawValue)
            let header = nftnl_nlmsg_build_hdr(buffer, type, family, isAdd ? UInt16(NLM_F_CREATE) | ack : ack, seq)
            nftnl_table_nlmsg_build_payload(header, object)
        case .addChain(let name, let hook):
            guard let object = nftnl_chain_alloc() else { return false }
            defer { nftnl_chain_free(object) }
            nftnl_chain_set_str(object, UInt16(NFTNL_CHAIN_TABLE.rawValue), table)
            nftnl_chain_set_str(object, UInt16(NFTNL_CHAIN_NAME.rawValue), name)
            if hook {
                nftnl_chain_set_u32(object, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), UInt32(NF_INET_POST_ROUTING.rawValue))
                nftnl_chain_set_s32(object, UInt16(NFTNL_CHAIN_PRIO.rawValue), MasqueradeRuleset.srcnatPriority)
                nftnl_chain_set_str(object, UInt16(NFTNL_CHAIN_TYPE.rawValue), "nat")
            }
            let header = nftnl_nlmsg_build_hdr(buffer, UInt16(NFT_MSG_NEWCHAIN.rawValue), family, UInt16(NLM_F_CREATE) | ack, seq)
            nftnl_chain_nlmsg_build_payload(header, object)
        case .flushChain(let chain):
            guard let object = nftnl_rule_alloc() else { return false }
            defer { nftnl_rule_free(object) }
            nftnl_rule_set_str(object, UInt16(NFTNL_RULE_TABLE.rawValue), table)
            nftnl_rule_set_str(object, UInt16(NFTNL_RULE_CHAIN.rawValue), chain)
            let header = nftnl_nlmsg_build_hdr(buffer, UInt16(NFT_MSG_DELRULE.rawValue), family, ack, seq)
            nftnl_rule_nlmsg_build_payload(header, object)
        case .deleteRule(let chain, let handle):
            guard let object = nftnl_rule_alloc() else { return false }
            defer { nftnl_rule_free(object) }
            nftnl_rule_set_str(object, UInt16(NFTNL_RULE_TABLE.rawValue), table)
            nftnl_rule_set_str(object, UInt16(NFTNL_RULE_CHAIN.rawValue), chain)
            nftnl_rule_set_u64(object, UInt16(NFTNL_RULE_HANDLE.rawValue), handle)
            let header = nftnl_nlmsg_build_hdr(buffer, UInt16(NFT_MSG_DELRULE.rawValue), family, ack, seq)
            nftnl_rule_nlmsg_build_payload(header, object)
        case .addRule(let rule):
            guard let object = NftablesSocket.makeRule(rule, table: table) else { return false }
            defer { nftnl_rule_free(object) }
            let flags = UInt16(NLM_F_CREATE) | UInt16(NLM_F_APPEND) | ack
            let header = nftnl_nlmsg_build_hdr(buffer, UInt16(NFT_MSG_NEWRULE.rawValue), family, flags, seq)
            nftnl_rule_nlmsg_build_payload(header, object)
        }
        return true
    }

    /// Reads acknowledgements until every message is acknowledged or one failed.
    private func awaitAcks(_ expected: [UInt32: String]) throws(NftablesError) {
        var pending = Set(expected.keys)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !pending.isEmpty {
            let received = buffer.withUnsafeMutableBytes { mnl_socket_recvfrom(socket, $0.baseAddress, $0.count) }
            if received < 0 {
                throw NftablesError(operation: "read acknowledgement", errno: .init(rawValue: currentErrno()))
            }
            var failure: NftablesError? = nil
            NftablesSocket.forEachMessage(buffer, count: received) { type, seq, payload in
                guard type == UInt16(NLMSG_ERROR), payload.count >= 4 else { return }
                let code = payload.loadUnaligned(as: Int32.self)
                pending.remove(seq)
                if code != 0, failure == nil {
                    failure = NftablesError(operation: expected[seq] ?? "transaction", errno: .init(rawValue: -code))
                }
            }
            if let failure { throw failure }
        }
    }

    /// Calls `body(type, sequence, payload)` for each netlink message in a received buffer.
    private static func forEachMessage(
        _ buffer: [UInt8], count: Int, _ body: (UInt16, UInt32, UnsafeRawBufferPointer) -> Void
    ) {
        buffer.withUnsafeBytes { raw in
            var offset = 0
            let headerSize = MemoryLayout<nlmsghdr>.size
            while offset + headerSize <= count {
                let length = Int(raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
                let type = raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self)
                let seq = raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self)
                guard length >= headerSize, offset + length <= count else { return }
                body(type, seq, UnsafeRawBufferPointer(rebasing: raw[(offset + headerSize)..<(offset + length)]))
                offset += (length + 3) & ~3
            }
        }
    }

    // MARK: Listing

    /// Every rule in the table (empty when the table does not exist).
    public func listRules() throws(NftablesError) -> [NftListedRule] {
        guard let filter = nftnl_rule_alloc() else { throw NftablesError(operation: "list rules", errno: .noMemory) }
        defer { nftnl_rule_free(filter) }
        nftnl_rule_set_str(filter, UInt16(NFTNL_RULE_TABLE.rawValue), table)
        var buffer = [UInt8](repeating: 0, count: 65536)
        let seq = nextSequence()
        let sent = buffer.withUnsafeMutableBytes { raw -> Int in
            let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
            let header = nftnl_nlmsg_build_hdr(base, UInt16(NFT_MSG_GETRULE.rawValue), family, UInt16(NLM_F_DUMP), seq)
            nftnl_rule_nlmsg_build_payload(header, filter)
            return mnl_socket_sendto(socket, header, Int(header?.pointee.nlmsg_len ?? 0))
        }
        if sent < 0 { throw NftablesError(operation: "list rules", errno: .init(rawValue: currentErrno())) }

        var rules: [NftListedRule] = []
        while true {
            let received = buffer.withUnsafeMutableBytes { mnl_socket_recvfrom(socket, $0.baseAddress, $0.count) }
            if received < 0 { throw NftablesError(operation: "list rules", errno: .init(rawValue: currentErrno())) }
            var done = false
            var failure: Errno? = nil
            buffer.withUnsafeBytes { raw in
                var offset = 0
                let headerSize = MemoryLayout<nlmsghdr>.size
                while offset + headerSize <= received {
                    let header = raw.baseAddress!.advanced(by: offset).assumingMemoryBound(to: nlmsghdr.self)
                    let length = Int(header.pointee.nlmsg_len)
                    guard length >= headerSize, offset + length <= received else { break }
                    switch Int32(header.pointee.nlmsg_type) {
                    case NLMSG_DONE:
                        done = true
                    case NLMSG_ERROR:
                        let code = raw.loadUnaligned(fromByteOffset: offset + headerSize, as: Int32.self)
                        if code != 0 { failure = .init(rawValue: -code) }
                        done = true
                    default:
                        if let rule = NftablesSocket.parseRule(header) { rules.append(rule) }
                    }
                    offset += (length + 3) & ~3
                }
            }
            if let failure {
                if failure == .noSuchFileOrDirectory { return [] }
                throw NftablesError(operation: "list rules", errno: failure)
            }
            if done { return rules }
        }
    }

    private static func parseRule(_ header: UnsafePointer<nlmsghdr>) -> NftListedRule? {
        guard let rule = nftnl_rule_alloc() else { return nil }
        defer { nftnl_rule_free(rule) }
        guard nftnl_rule_nlmsg_parse(header, rule) >= 0 else { return nil }
        let chain = nftnl_rule_get_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue)).map { String(cString: $0) } ?? ""
        let handle = nftnl_rule_get_u64(rule, UInt16(NFTNL_RULE_HANDLE.rawValue))
        var comment: String? = nil
        var length: UInt32 = 0
        if let data = nftnl_rule_get_data(rule, UInt16(NFTNL_RULE_USERDATA.rawValue), &length) {
            comment = UserData.comment(in: UnsafeRawBufferPointer(start: data, count: Int(length)))
        }
        return NftListedRule(chain: chain, handle: handle, comment: comment)
    }
}

import CNftnl

extension NftablesSocket {
    /// Builds a libnftnl rule object from the model; the caller frees it.
    static func makeRule(_ rule: NftRule, table: String) -> OpaquePointer? {
        guard let object = nftnl_rule_alloc() else { return nil }
        nftnl_rule_set_str(object, UInt16(NFTNL_RULE_TABLE.rawValue), table)
        nftnl_rule_set_str(object, UInt16(NFTNL_RULE_CHAIN.rawValue), rule.chain)
        nftnl_rule_set_u32(object, UInt16(NFTNL_RULE_FAMILY.rawValue), UInt32(NFPROTO_INET))
        for expression in rule.expressions {
            guard let made = makeExpression(expression) else {
                nftnl_rule_free(object)
                return nil
            }
            nftnl_rule_add_expr(object, made)
        }
        if let comment = rule.comment {
            var data = UserData.encodeComment(comment)
            data.withUnsafeMutableBytes { raw in
                _ = nftnl_rule_set_data(object, UInt16(NFTNL_RULE_USERDATA.rawValue), raw.baseAddress, UInt32(raw.count))
            }
        }
        return object
    }

    private static let register1 = UInt32(NFT_REG_1.rawValue)

    private static func makeExpression(_ expression: NftExpression) -> OpaquePointer? {
        switch expression {
        case .loadNFProto:
            guard let e = nftnl_expr_alloc("meta") else { return nil }
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_META_KEY), UInt32(NFT_META_NFPROTO.rawValue))
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_META_DREG), register1)
            return e
        case .loadNetworkHeader(let offset, let length):
            guard let e = nftnl_expr_alloc("payload") else { return nil }
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_PAYLOAD_DREG), register1)
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_PAYLOAD_BASE), UInt32(NFT_PAYLOAD_NETWORK_HEADER.rawValue))
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_PAYLOAD_OFFSET), offset)
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_PAYLOAD_LEN), length)
            return e
        case .mask(let mask):
            guard let e = nftnl_expr_alloc("bitwise") else { return nil }
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_BITWISE_SREG), register1)
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_BITWISE_DREG), register1)
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_BITWISE_LEN), UInt32(mask.count))
            var maskBytes = mask
            var xorBytes = [UInt8](repeating: 0, count: mask.count)
            maskBytes.withUnsafeMutableBytes { _ = nftnl_expr_set(e, UInt16(NFTNL_EXPR_BITWISE_MASK), $0.baseAddress, UInt32($0.count)) }
            xorBytes.withUnsafeMutableBytes { _ = nftnl_expr_set(e, UInt16(NFTNL_EXPR_BITWISE_XOR), $0.baseAddress, UInt32($0.count)) }
            return e
        case .compare(let op, let data):
            guard let e = nftnl_expr_alloc("cmp") else { return nil }
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_CMP_SREG), register1)
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_CMP_OP), UInt32(op == .equal ? NFT_CMP_EQ.rawValue : NFT_CMP_NEQ.rawValue))
            var bytes = data
            bytes.withUnsafeMutableBytes { _ = nftnl_expr_set(e, UInt16(NFTNL_EXPR_CMP_DATA), $0.baseAddress, UInt32($0.count)) }
            return e
        case .verdict(let verdict):
            guard let e = nftnl_expr_alloc("immediate") else { return nil }
            nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_IMM_DREG), UInt32(NFT_REG_VERDICT.rawValue))
            switch verdict {
            case .return:
                nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_IMM_VERDICT), UInt32(bitPattern: Int32(NFT_RETURN.rawValue)))
            case .goto(let chain):
                nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_IMM_VERDICT), UInt32(bitPattern: Int32(NFT_GOTO.rawValue)))
                nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_IMM_CHAIN), chain)
            }
            return e
        case .masquerade:
            return nftnl_expr_alloc("masq")
        }
    }

    /// nft's text for a rule as libnftnl prints it (for tests and diagnostics).
    public static func debugDescription(of rule: NftRule, table: String) -> String {
        guard let object = makeRule(rule, table: table) else { return "" }
        defer { nftnl_rule_free(object) }
        var buffer = [CChar](repeating: 0, count: 4096)
        _ = nftnl_rule_snprintf(&buffer, buffer.count, object, UInt32(NFTNL_OUTPUT_DEFAULT.rawValue), 0)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// nft's rule user data: type-length-value records; type 0 is the comment, NUL-terminated.
enum UserData {
    static let commentType: UInt8 = 0

    static func encodeComment(_ comment: String) -> [UInt8] {
        let value = Array(comment.utf8.prefix(MasqueradeRuleset.commentLimit)) + [0]
        return [commentType, UInt8(value.count)] + value
    }

    static func comment(in data: UnsafeRawBufferPointer) -> String? {
        var offset = 0
        while offset + 2 <= data.count {
            let type = data[offset]
            let length = Int(data[offset + 1])
            guard offset + 2 + length <= data.count else { return nil }
            if type == commentType {
                let bytes = data[(offset + 2)..<(offset + 2 + length)].prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self)
            }
            offset += 2 + length
        }
        return nil
    }
}

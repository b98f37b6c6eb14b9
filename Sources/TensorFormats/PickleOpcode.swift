/// Pickle opcodes (CPython `Lib/pickle.py`, `Lib/pickletools.py`).
///
/// `allowed` is the data-only subset of protocol 2 that `torch.save` emits with its default
/// `pickle_protocol=2` (checked with `pickletools.dis` on torch 2.15 output) plus the protocol-1
/// string opcodes of Python 2 era checkpoints. Everything else — the protocol-0 text opcodes, the
/// object-building `INST`/`OBJ`/`NEWOBJ`, the extension registry `EXT*`, and protocols 3–5 — is
/// refused by the unpickler with the opcode's name.
enum PickleOpcode: UInt8 {
    case mark = 0x28            // (
    case stop = 0x2E            // .
    case pop = 0x30             // 0
    case popMark = 0x31         // 1
    case dup = 0x32             // 2
    case binInt = 0x4A          // J  4-byte signed
    case binInt1 = 0x4B         // K  1-byte unsigned
    case binInt2 = 0x4D         // M  2-byte unsigned
    case long1 = 0x8A           // 1-byte length, little-endian two's complement
    case long4 = 0x8B           // 4-byte length
    case none = 0x4E            // N
    case newTrue = 0x88
    case newFalse = 0x89
    case binFloat = 0x47        // G  8-byte big-endian double
    case binUnicode = 0x58      // X  4-byte length, UTF-8
    case binString = 0x54       // T  4-byte length (Python 2 str)
    case shortBinString = 0x55  // U  1-byte length (Python 2 str)
    case emptyList = 0x5D       // ]
    case append = 0x61          // a
    case appends = 0x65         // e
    case emptyDict = 0x7D       // }
    case setItem = 0x73         // s
    case setItems = 0x75        // u
    case emptyTuple = 0x29      // )
    case tuple = 0x74           // t
    case tuple1 = 0x85
    case tuple2 = 0x86
    case tuple3 = 0x87
    case global = 0x63          // c  "module\nname\n"
    case reduce = 0x52          // R
    case build = 0x62           // b
    case binPersId = 0x51       // Q
    case binGet = 0x68          // h
    case longBinGet = 0x6A      // j
    case binPut = 0x71          // q
    case longBinPut = 0x72      // r
    case proto = 0x80

    /// The pickletools name of any opcode byte, allowed or not (`"unknown"` for bytes that are no opcode).
    static func name(of byte: UInt8) -> String {
        switch byte {
        case 0x28: "MARK"
        case 0x2E: "STOP"
        case 0x30: "POP"
        case 0x31: "POP_MARK"
        case 0x32: "DUP"
        case 0x46: "FLOAT"
        case 0x49: "INT"
        case 0x4A: "BININT"
        case 0x4B: "BININT1"
        case 0x4C: "LONG"
        case 0x4D: "BININT2"
        case 0x4E: "NONE"
        case 0x50: "PERSID"
        case 0x51: "BINPERSID"
        case 0x52: "REDUCE"
        case 0x53: "STRING"
        case 0x54: "BINSTRING"
        case 0x55: "SHORT_BINSTRING"
        case 0x56: "UNICODE"
        case 0x58: "BINUNICODE"
        case 0x61: "APPEND"
        case 0x62: "BUILD"
        case 0x63: "GLOBAL"
        case 0x64: "DICT"
        case 0x7D: "EMPTY_DICT"
        case 0x65: "APPENDS"
        case 0x67: "GET"
        case 0x68: "BINGET"
        case 0x69: "INST"
        case 0x6A: "LONG_BINGET"
        case 0x6C: "LIST"
        case 0x5D: "EMPTY_LIST"
        case 0x6F: "OBJ"
        case 0x70: "PUT"
        case 0x71: "BINPUT"
        case 0x72: "LONG_BINPUT"
        case 0x73: "SETITEM"
        case 0x74: "TUPLE"
        case 0x29: "EMPTY_TUPLE"
        case 0x75: "SETITEMS"
        case 0x47: "BINFLOAT"
        case 0x80: "PROTO"
        case 0x81: "NEWOBJ"
        case 0x82: "EXT1"
        case 0x83: "EXT2"
        case 0x84: "EXT4"
        case 0x85: "TUPLE1"
        case 0x86: "TUPLE2"
        case 0x87: "TUPLE3"
        case 0x88: "NEWTRUE"
        case 0x89: "NEWFALSE"
        case 0x8A: "LONG1"
        case 0x8B: "LONG4"
        case 0x42: "BINBYTES"
        case 0x43: "SHORT_BINBYTES"
        case 0x8C: "SHORT_BINUNICODE"
        case 0x8D: "BINUNICODE8"
        case 0x8E: "BINBYTES8"
        case 0x8F: "EMPTY_SET"
        case 0x90: "ADDITEMS"
        case 0x91: "FROZENSET"
        case 0x92: "NEWOBJ_EX"
        case 0x93: "STACK_GLOBAL"
        case 0x94: "MEMOIZE"
        case 0x95: "FRAME"
        case 0x96: "BYTEARRAY8"
        case 0x97: "NEXT_BUFFER"
        case 0x98: "READONLY_BUFFER"
        default: "unknown"
        }
    }
}

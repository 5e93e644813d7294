//! The few protobuf messages of ONNX that an exported model needs (`onnx/onnx.proto`,
//! IR version 8), written by hand: a model is a handful of nested messages, and a
//! protobuf writer is a few functions (varints, length-delimited fields), so no code
//! generator or runtime crate is needed. Field numbers are onnx.proto's.

/// Wire types.
const VARINT: u8 = 0;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn varint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(b);
                return;
            }
            self.buf.push(b | 0x80);
        }
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    pub fn int(&mut self, field: u32, v: i64) {
        self.key(field, VARINT);
        self.varint(v as u64);
    }

    pub fn float(&mut self, field: u32, v: f32) {
        self.key(field, FIXED32);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn bytes(&mut self, field: u32, v: &[u8]) {
        self.key(field, LEN);
        self.varint(v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    pub fn string(&mut self, field: u32, v: &str) {
        self.bytes(field, v.as_bytes());
    }

    pub fn message(&mut self, field: u32, m: Writer) {
        self.bytes(field, &m.buf);
    }

    pub fn packed_ints(&mut self, field: u32, vs: &[i64]) {
        let mut inner = Writer::default();
        for v in vs {
            inner.varint(*v as u64);
        }
        self.bytes(field, &inner.buf);
    }

    pub fn packed_floats(&mut self, field: u32, vs: &[f32]) {
        let mut inner = Vec::with_capacity(vs.len() * 4);
        for v in vs {
            inner.extend_from_slice(&v.to_le_bytes());
        }
        self.bytes(field, &inner);
    }
}

/// `TensorProto.DataType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    Float = 1,
    Int64 = 7,
    String = 8,
}

/// An attribute value (`AttributeProto`).
pub enum Attr {
    Int(i64),
    Float(f32),
    Str(String),
    Ints(Vec<i64>),
    Floats(Vec<f32>),
    Strs(Vec<String>),
}

pub fn attribute(name: &str, a: &Attr) -> Writer {
    let mut w = Writer::default();
    w.string(1, name);
    // AttributeType: FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7, STRINGS 8
    match a {
        Attr::Float(v) => {
            w.float(2, *v);
            w.int(20, 1);
        }
        Attr::Int(v) => {
            w.int(3, *v);
            w.int(20, 2);
        }
        Attr::Str(v) => {
            w.string(4, v);
            w.int(20, 3);
        }
        Attr::Floats(v) => {
            w.packed_floats(7, v);
            w.int(20, 6);
        }
        Attr::Ints(v) => {
            w.packed_ints(8, v);
            w.int(20, 7);
        }
        Attr::Strs(v) => {
            for s in v {
                w.string(9, s);
            }
            w.int(20, 8);
        }
    }
    w
}

/// A `NodeProto`.
pub fn node(
    op: &str,
    domain: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attrs: &[(&str, Attr)],
) -> Writer {
    let mut w = Writer::default();
    for i in inputs {
        w.string(1, i);
    }
    for o in outputs {
        w.string(2, o);
    }
    w.string(3, name);
    w.string(4, op);
    for (n, a) in attrs {
        w.message(5, attribute(n, a));
    }
    if !domain.is_empty() {
        w.string(7, domain);
    }
    w
}

/// A `ValueInfoProto` of a tensor; a dimension `None` is the symbolic batch size `N`.
pub fn value_info(name: &str, elem: Elem, dims: &[Option<i64>]) -> Writer {
    let mut shape = Writer::default();
    for d in dims {
        let mut dim = Writer::default();
        match d {
            Some(v) => dim.int(1, *v),
            None => dim.string(2, "N"),
        }
        shape.message(1, dim);
    }
    let mut tensor = Writer::default();
    tensor.int(1, elem as i64);
    tensor.message(2, shape);
    let mut ty = Writer::default();
    ty.message(1, tensor);
    let mut w = Writer::default();
    w.string(1, name);
    w.message(2, ty);
    w
}

/// A constant tensor (`TensorProto`) of int64s, floats or strings.
pub enum Data {
    Int64(Vec<i64>),
    Float(Vec<f32>),
    Str(Vec<String>),
}

pub fn tensor(name: &str, dims: &[i64], data: &Data) -> Writer {
    let mut w = Writer::default();
    w.packed_ints(1, dims);
    match data {
        Data::Float(v) => {
            w.int(2, Elem::Float as i64);
            w.packed_floats(4, v);
        }
        Data::Str(v) => {
            w.int(2, Elem::String as i64);
            for s in v {
                w.string(6, s);
            }
        }
        Data::Int64(v) => {
            w.int(2, Elem::Int64 as i64);
            w.packed_ints(7, v);
        }
    }
    w.string(8, name);
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_keys_are_protobufs() {
        let mut w = Writer::default();
        w.int(1, 150);
        assert_eq!(w.into_bytes(), [0x08, 0x96, 0x01]);
        let mut w = Writer::default();
        w.int(3, -1);
        // negative int64: ten bytes, as protobuf writes them
        assert_eq!(w.into_bytes().len(), 11);
        let mut w = Writer::default();
        w.string(2, "testing");
        assert_eq!(w.into_bytes(), b"\x12\x07testing");
    }
}

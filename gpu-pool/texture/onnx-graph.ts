import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX opset of Kai's generated graphs; ReduceMean still takes `axes` as an attribute here. */
export const GRAPH_OPSET = 13;
/** The newest IR version the bundled ONNX schema (onnx-proto, ONNX 1.10) can describe. */
export const GRAPH_IR_VERSION = 8;

/** An attribute value: a number is an int unless written with `{ float }`. */
export type AttributeValue = number | number[] | string | { float: number };

/** A tensor's dims: positive sizes, or a symbolic name such as "batch". */
export type Dims = (number | string)[];

/** A float32 or int64 constant of the graph. */
export interface ConstantSpec {
  dims: number[];
  values: Float32Array | BigInt64Array;
}

/**
 * Builds an ONNX graph one node at a time, with computed constants. Names are generated from
 * the op type, so a graph written twice in the same order is byte-identical.
 */
export class GraphBuilder {
  readonly name: string;
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private counter = 0;
  /** How many numbers the constants hold. */
  parameterCount = 0;

  constructor(name: string) {
    this.name = name;
  }

  /** Declares a graph input and returns its name. */
  input(name: string, dtype: 'float32' | 'int64', dims: Dims): string {
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  /** Declares `value` (a node output) as the graph output `name`. */
  output(value: string, name: string, dtype: 'float32' | 'int64', dims: Dims): string {
    const named = value === name ? value : this.op('Identity', [value], {}, name);
    this.outputs.push(valueInfo(name, dtype, dims));
    return named;
  }

  /** Adds a constant tensor and returns its name. */
  constant(prefix: string, spec: ConstantSpec): string {
    const name = `${prefix}_${this.counter++}`;
    const count = spec.dims.reduce((a, b) => a * b, 1);
    if (count !== spec.values.length) {
      throw new RangeError(`Constant ${name} has ${spec.values.length} values for ${count}.`);
    }
    const float = spec.values instanceof Float32Array;
    const raw = new DataView(new ArrayBuffer(count * (float ? 4 : 8)));

    // Little-endian whatever the host, as ONNX's raw_data requires.
    for (let i = 0; i < count; i++) {
      if (float) raw.setFloat32(i * 4, spec.values[i] as number, true);
      else raw.setBigInt64(i * 8, spec.values[i] as bigint, true);
    }
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: spec.dims,
        dataType: float ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
        rawData: new Uint8Array(raw.buffer),
      }),
    );
    this.parameterCount += count;
    return name;
  }

  /** A float32 constant. */
  floats(prefix: string, dims: number[], values: ArrayLike<number>): string {
    return this.constant(prefix, { dims, values: Float32Array.from(values) });
  }

  /** An int64 constant, such as a shape for Reshape. */
  ints(prefix: string, values: number[]): string {
    return this.constant(prefix, {
      dims: [values.length],
      values: BigInt64Array.from(values.map(BigInt)),
    });
  }

  /** Adds a node with one output and returns the output's name. */
  op(
    opType: string,
    inputs: string[],
    attributes: Record<string, AttributeValue> = {},
    outputName?: string,
  ): string {
    const id = this.counter++;
    const output = outputName ?? `${opType.toLowerCase()}_${id}`;
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        input: inputs,
        output: [output],
        name: `${opType}_${id}`,
        attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
      }),
    );
    return output;
  }

  /** The model as ONNX protobuf bytes. */
  encode(docString: string): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: GRAPH_IR_VERSION,
      opsetImport: [{ domain: '', version: GRAPH_OPSET }],
      producerName: 'kai',
      producerVersion: '1',
      docString,
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function attribute(name: string, value: AttributeValue) {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  if (typeof value === 'string') {
    return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
  }
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  return { name, type: AttributeType.FLOAT, f: value.float };
}

function valueInfo(name: string, dtype: 'float32' | 'int64', dims: Dims) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType:
          dtype === 'float32' ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
        shape: {
          dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })),
        },
      },
    },
  });
}

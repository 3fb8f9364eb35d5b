import {
  decodeInferResponse,
  encodeInferRequest,
  errorMessage,
  HEADER_LENGTH,
  metadataProblems,
} from '../../src/inference/oip-protocol';
import { parseRemoteBackend, storedRemoteBackend } from '../../src/registry/remote-backend';

describe('the Open Inference Protocol codec', () => {
  const input = { name: 'input', data: Float32Array.from([0.5, -1.25, 3, 1e-7]), dims: [1, 4] };

  it('writes the binary tensor extension as the spec shows: JSON header, its length in a header, raw FP32 little-endian after it', () => {
    const { body, headers } = encodeInferRequest(input, ['logits'], true);
    const length = Number(headers[HEADER_LENGTH]);
    expect(headers['content-type']).toBe('application/octet-stream');
    expect(body.length).toBe(length + 16);
    expect(JSON.parse(body.subarray(0, length).toString())).toEqual({
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
      outputs: [{ name: 'logits', parameters: { binary_data: true } }],
    });
    expect([0, 1, 2, 3].map((i) => body.readFloatLE(length + 4 * i))).toEqual(Array.from(input.data));
  });

  it('writes JSON with the data inline and no header length', () => {
    const { body, headers } = encodeInferRequest(input, ['logits'], false);
    expect(headers).toEqual({ 'content-type': 'application/json' });
    expect(JSON.parse(body.toString())).toEqual({
      inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: Array.from(input.data) }],
      outputs: [{ name: 'logits' }],
    });
  });

  it('reads a binary response (the spec example: a [3, 2] FP32 output of 24 bytes) and JSON ones, nested or flat', () => {
    const values = [1, 2, 3, 4, 5, 6.5];
    const header = Buffer.from(
      JSON.stringify({
        outputs: [{ name: 'output0', shape: [3, 2], datatype: 'FP32', parameters: { binary_data_size: 24 } }],
      }),
    );
    const data = Buffer.alloc(24);
    values.forEach((v, i) => data.writeFloatLE(v, 4 * i));
    const binary = decodeInferResponse(Buffer.concat([header, data]), header.length, ['output0']);
    expect([Array.from(binary.output0!.data), binary.output0!.dims]).toEqual([values, [3, 2]]);

    const nested = Buffer.from(
      JSON.stringify({
        outputs: [
          {
            name: 'y',
            shape: [2, 2],
            datatype: 'FP64',
            data: [
              [0.25, 1],
              [2, 3],
            ],
          },
        ],
      }),
    );
    expect(Array.from(decodeInferResponse(nested, null, ['y']).y!.data)).toEqual([0.25, 1, 2, 3]);
  });

  it('refuses responses that break the protocol, with the reason', () => {
    const json = (o: unknown) => Buffer.from(JSON.stringify(o));
    expect(() => decodeInferResponse(json({ outputs: [] }), null, ['y'])).toThrow('lacks the output(s) y');
    expect(() =>
      decodeInferResponse(json({ outputs: [{ name: 'y', shape: [3], datatype: 'FP32', data: [1, 2] }] }), null, ['y']),
    ).toThrow('has 2 values for shape [3]');
    expect(() =>
      decodeInferResponse(json({ outputs: [{ name: 'y', shape: [1], datatype: 'BYTES', data: [1] }] }), null, ['y']),
    ).toThrow('datatype BYTES');
    const header = json({
      outputs: [{ name: 'y', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }],
    });
    expect(() => decodeInferResponse(Buffer.concat([header, Buffer.alloc(4)]), header.length, ['y'])).toThrow(
      'claims 8 bytes',
    );
    expect(() => decodeInferResponse(header, header.length + 1, ['y'])).toThrow('does not fit');
    expect(errorMessage('{"error":"model not found"}')).toBe('model not found');
    expect(errorMessage('<html>')).toBeNull();
  });

  it("checks the remote model's metadata against the version's signature", () => {
    const expected = {
      input: { name: 'input', type: 'float32', shape: ['N', 1, 8, 8] as (number | string)[] },
      output: { name: 'logits', type: 'float32', shape: ['N', 3] as (number | string)[] },
    };
    const meta = (inputShape: number[], outputs = [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }]) => ({
      name: 'm',
      inputs: [{ name: 'input', datatype: 'FP32', shape: inputShape }],
      outputs,
    });
    expect(metadataProblems(meta([-1, 1, 8, 8]), expected)).toEqual([]);
    // A dimension the version fixes may be dynamic remotely, not the other way round.
    expect(metadataProblems(meta([-1, 1, -1, -1]), expected)).toEqual([]);
    expect(metadataProblems(meta([1, 1, 8, 8]), expected)).toEqual([
      'input "input" has shape [1, 1, 8, 8] remotely but [-1, 1, 8, 8] in the version',
    ]);
    expect(metadataProblems(meta([-1, 1, 8]), expected)).toHaveLength(1);
    expect(
      metadataProblems(meta([-1, 1, 8, 8], [{ name: 'probs', datatype: 'FP16', shape: [-1, 3] }]), expected),
    ).toEqual(['the remote model has no output "logits" (its outputs: "probs")']);
    expect(
      metadataProblems(meta([-1, 1, 8, 8], [{ name: 'logits', datatype: 'FP16', shape: [-1, 3] }]), expected),
    ).toEqual(['output "logits" is FP16 remotely but FP32 in the version']);
  });
});

describe('the remote backend setting', () => {
  it('fills in defaults, drops a trailing slash and treats GraphQL nulls as omitted', () => {
    expect(
      parseRemoteBackend({ url: 'http://triton:8000/', model: 'resnet', modelVersion: null, protocol: null }),
    ).toEqual({
      url: 'http://triton:8000',
      model: 'resnet',
      modelVersion: null,
      protocol: 'BINARY',
      timeoutMs: 10_000,
    });
    expect(storedRemoteBackend(null)).toBeNull();
  });

  it('refuses what is not an http(s) engine, listing every problem', () => {
    const problems = (input: unknown) => {
      try {
        parseRemoteBackend(input);
        return [];
      } catch (e) {
        expect((e as { code: string }).code).toBe('BAD_USER_INPUT');
        return (e as { details: { problems: string[] } }).details.problems;
      }
    };
    expect(problems({ url: 'grpc://x:8001', model: 'm' })).toEqual(['url must be http(s)']);
    expect(problems({ url: 'https://user:secret@x', model: 'm' })).toEqual(['url must not carry credentials']);
    expect(problems({ url: 'http://x?a=1', model: '' })).toEqual([
      'url must have no query or fragment',
      'model must not be empty',
    ]);
    expect(problems({ url: 'x', model: 'a/b', protocol: 'GRPC', timeoutMs: 0.5 })).toEqual([
      'url must be an absolute URL',
      'model must not contain "/"',
      'protocol must be BINARY or JSON',
      'timeoutMs must be a whole number',
    ]);
  });
});

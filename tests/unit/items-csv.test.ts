import {
  csvField,
  ITEM_CSV_COLUMNS,
  ITEM_CSV_HEADER,
  itemCsvRows,
  type ItemResult,
} from '../../src/evaluation/items-csv';

describe('the per-item CSV', () => {
  it('quotes fields with commas, quotes or line breaks (RFC 4180) and leaves others bare', () => {
    expect(csvField('plain/path.png')).toBe('plain/path.png');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField('')).toBe('');
  });

  it('makes text that a spreadsheet would run as a formula plain text, with a leading quote', () => {
    for (const start of ['=', '+', '-', '@', '\t']) expect(csvField(`${start}1+1`)).toBe(`'${start}1+1`);
    expect(csvField('\rx')).toBe(`"'\rx"`);
    expect(csvField('=HYPERLINK("http://evil","x")')).toBe(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(csvField('a=b')).toBe('a=b');
    // Numbers and booleans are ours, not user data: as JavaScript writes them (negative ones too).
    expect([csvField(-1.5), csvField(0.25), csvField(true), csvField(false)]).toEqual([
      '-1.5',
      '0.25',
      'true',
      'false',
    ]);
  });

  it('writes the header and one CRLF-terminated row per item, columns in order', () => {
    const item: ItemResult = {
      ordinal: 3,
      path: 'a,b.png',
      label: '@cat',
      baselineLabel: 'dog',
      baselineProbability: 0.75,
      candidateLabel: '@cat',
      candidateProbability: 0.5,
      agree: false,
      baselineCorrect: false,
      candidateCorrect: true,
      baselineMs: 1.25,
      candidateMs: 2,
    };
    expect(ITEM_CSV_HEADER).toBe(`${ITEM_CSV_COLUMNS.join(',')}\r\n`);
    expect(ITEM_CSV_COLUMNS).toEqual(Object.keys(item));
    expect(itemCsvRows([item, { ...item, ordinal: 4 }])).toBe(
      `3,"a,b.png",'@cat,dog,0.75,'@cat,0.5,false,false,true,1.25,2\r\n` +
        `4,"a,b.png",'@cat,dog,0.75,'@cat,0.5,false,false,true,1.25,2\r\n`,
    );
    expect(itemCsvRows([])).toBe('');
  });
});

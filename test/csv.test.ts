import { describe, expect, it } from "vitest";
import { csvRow, toCsv } from "../src/lib/csv";

describe("csvRow", () => {
  it("joins plain fields with commas and ends the line in CRLF", () => {
    expect(csvRow(["a", "b c", "ü€"])).toBe("a,b c,ü€\r\n");
  });

  it.each([
    ["null", null, ""],
    ["undefined", undefined, ""],
    ["an empty string", "", ""],
    ["an integer", 42, "42"],
    ["a decimal", 49.9, "49.9"],
    ["a negative number", -3.5, "-3.5"],
    ["a tiny number", 1e-7, "1e-7"],
    ["true", true, "true"],
    ["false", false, "false"],
  ])("writes %s as %j", (_, value, field) => {
    expect(csvRow([value])).toBe(`${field}\r\n`);
  });

  it.each([
    ["a comma", "a,b", '"a,b"'],
    ["a quote, doubled", 'say "hi"', '"say ""hi"""'],
    ["a line feed", "one\ntwo", '"one\ntwo"'],
    ["a carriage return", "one\rtwo", '"one\rtwo"'],
    ["CRLF", "one\r\ntwo", '"one\r\ntwo"'],
    ["only a quote", '"', '""""'],
  ])("quotes a field with %s", (_, value, field) => {
    expect(csvRow([value, "x"])).toBe(`${field},x\r\n`);
  });

  it.each([
    ["=", "=SUM(A1:A9)", "'=SUM(A1:A9)"],
    ["+", "+1 415 555 0100", "'+1 415 555 0100"],
    ["-", "-2+3", "'-2+3"],
    ["@", "@cmd", "'@cmd"],
    ["a tab", "\tx", "'\tx"],
    ["a carriage return", "\r=1", `"'\r=1"`],
    [
      "= and a comma",
      '=HYPERLINK("https://evil.example","click")',
      `"'=HYPERLINK(""https://evil.example"",""click"")"`,
    ],
  ])("makes a string that starts with %s inert for spreadsheets", (_, value, field) => {
    expect(csvRow([value])).toBe(`${field}\r\n`);
  });

  it("leaves numbers alone, negative ones too, and formula characters that do not start the field", () => {
    expect(csvRow([-1, "a=b", "x-1", " =1"])).toBe("-1,a=b,x-1, =1\r\n");
  });

  it("writes an empty row as an empty line", () => {
    expect(csvRow([])).toBe("\r\n");
  });
});

describe("toCsv", () => {
  it("writes the header and then one line per row", () => {
    expect(
      toCsv(
        ["name", "count", "share"],
        [
          ["A, the first", 3, 0.75],
          ["B", 1, null],
        ],
      ),
    ).toBe('name,count,share\r\n"A, the first",3,0.75\r\nB,1,\r\n');
  });

  it("is only the header when there are no rows", () => {
    expect(toCsv(["a", "b"], [])).toBe("a,b\r\n");
  });
});

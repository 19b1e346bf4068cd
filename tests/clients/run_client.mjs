// Runs one of xlwings' real JavaScript clients against a fake Excel / Google Sheets object
// model filled from a book description (written by make_payloads.py) and writes the exact
// request bodies the client sends to Python.
//
//   node run_client.mjs JOB.json
//
// JOB.json: {mode: "office-scripts" | "google-sheets" | "officejs", book: {...}, out: PATH, ...}
// Client code is never copied or edited: xlwings.ts is only stripped of its types (typescript
// transpileModule), xlwings.js and the xlwings-server files are evaluated as they are.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import vm from "node:vm";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const book = job.book;
// Client chatter (e.g. printSupportedApiVersions) goes to stderr; stdout stays clean.
const log = (...a) => process.stderr.write(a.map(String).join(" ") + "\n");

const deepCopy = (grid) => grid.map((row) => row.slice());
const quoteSheet = (name) => (/^[A-Za-z_][A-Za-z0-9_.]*$/.test(name) ? name : `'${name.replace(/'/g, "''")}'`);
const colLetters = (n) => {
  let s = "";
  for (n = n + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
};
const cellAddress = (r, c) => `${colLetters(c)}${r + 1}`;
function parseCell(a1) {
  const m = /^\$?([A-Z]+)\$?(\d+)$/.exec(a1);
  if (!m) throw new Error(`bad cell ${a1}`);
  let c = 0;
  for (const ch of m[1]) c = c * 26 + (ch.charCodeAt(0) - 64);
  return [Number(m[2]) - 1, c - 1];
}
function parseRange(address) {
  // "A1:L61", "Accounts!A1:L61", "A1:'Metric History'!D1418" (what xlwings-server builds)
  const parts = address.split(":").map((p) => p.split("!").pop());
  const [r0, c0] = parseCell(parts[0]);
  const [r1, c1] = parseCell(parts[parts.length - 1]);
  return { r0, c0, nr: r1 - r0 + 1, nc: c1 - c0 + 1 };
}
// The values grid is always R x C from A1; cells beyond it are blank.
function block(grid, r0, c0, nr, nc, blank) {
  const out = [];
  for (let r = r0; r < r0 + nr; r++) {
    const row = [];
    for (let c = c0; c < c0 + nc; c++) {
      const v = grid[r] !== undefined && grid[r][c] !== undefined ? grid[r][c] : blank;
      row.push(v);
    }
    out.push(row);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Office Scripts (xlwings/js/xlwings.ts)
// ---------------------------------------------------------------------------------------
async function runOfficeScripts() {
  const ts = createRequire(join(job.typescript_dir, "node_modules", "typescript", "package.json"))(
    join(job.typescript_dir, "node_modules", "typescript"),
  );
  const source = readFileSync(job.client_path, "utf8");
  const js = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.None, removeComments: false },
    fileName: "xlwings.ts",
  }).outputText;

  const ExcelScript = {
    NamedItemType: { string: "String", integer: "Integer", double: "Double", boolean: "Boolean", range: "Range", error: "Error", array: "Array" },
    NamedItemScope: { worksheet: "Worksheet", workbook: "Workbook" },
    ShapeType: { unsupported: "Unsupported", image: "Image", geometricShape: "GeometricShape", group: "Group", line: "Line", textBox: "TextBox" },
    ClearApplyTo: { all: "All", formats: "Formats", contents: "Contents", hyperlinks: "Hyperlinks", removeHyperlinks: "RemoveHyperlinks" },
    DeleteShiftDirection: { up: "Up", left: "Left" },
    InsertShiftDirection: { down: "Down", right: "Right" },
  };

  const sheets = book.sheets.map((s, position) => {
    const sheet = {
      getName: () => s.name,
      getPosition: () => position,
      // ExcelScript: getUsedRange() returns undefined for an empty sheet
      getUsedRange: () =>
        s.n_rows === 0
          ? undefined
          : { getLastCell: () => ({ getRowIndex: () => s.n_rows - 1, getColumnIndex: () => s.n_cols - 1 }) },
      getNames: () => [],
      getRangeByIndexes: (r0, c0, nr, nc) => ({
        // getValues: numbers (dates as serials), strings, booleans, "" for blanks, error text for errors
        getValues: () => block(s.excel_values, r0, c0, nr, nc, ""),
        getNumberFormatCategories: () => block(s.categories, r0, c0, nr, nc, "General"),
      }),
      getTables: () => [],
      getShapes: () => [],
    };
    return sheet;
  });
  const active = sheets[book.active_sheet_index];
  const workbook = {
    getWorksheets: () => sheets,
    getWorksheet: (name) => sheets.find((s) => s.getName() === name), // undefined if missing
    getSelectedRange: () => ({ getAddress: () => `${quoteSheet(active.getName())}!${book.selection}` }),
    getName: () => book.name,
    getActiveWorksheet: () => active,
    getNames: () => [],
  };

  const requests = [];
  const context = vm.createContext({
    ExcelScript,
    console: { log: () => {}, error: log, warn: log },
    fetch: async (url, options) => {
      requests.push({ url, method: options.method, headers: { ...options.headers }, body: options.body });
      return { status: 200, json: async () => ({ actions: [] }), text: async () => "" };
    },
  });
  vm.runInContext(js, context, { filename: job.client_path });
  context.__workbook = workbook;
  await vm.runInContext("main(__workbook)", context);
  return requests;
}

// ---------------------------------------------------------------------------------------
// Google Apps Script (xlwings/js/xlwings.js)
// ---------------------------------------------------------------------------------------
async function runGoogleSheets() {
  const js = readFileSync(job.client_path, "utf8");
  const requests = [];
  const context = vm.createContext({ console: { log: () => {}, error: log, warn: log } });
  // Dates must be the Date of the script's own realm, or `value instanceof Date` fails.
  const RealmDate = vm.runInContext("Date", context);

  const sheets = book.sheets.map((s, position) => {
    // Apps Script getValues(): Date objects for date/time cells (the instant of the cell's
    // wall-clock time in the spreadsheet's time zone), numbers, strings, booleans, "" for blanks,
    // and the error text ("#N/A") for error cells.
    const values = deepCopy(s.excel_values);
    for (const [r, c, ms] of s.gs_dates) values[r][c] = new RealmDate(ms);
    return {
      getName: () => s.name,
      getIndex: () => position + 1,
      getLastRow: () => s.gs_last_row,
      getLastColumn: () => s.gs_last_col,
      getRange: (row, col, nr, nc) => ({
        getValues: () =>
          block(values, row - 1, col - 1, nr, nc, "").map((r) => r.map((v) => (v instanceof RealmDate ? new RealmDate(v.getTime()) : v))),
        getA1Notation: () => `${cellAddress(row - 1, col - 1)}`,
      }),
      getImages: () => [],
    };
  });
  const spreadsheet = {
    getSheets: () => sheets,
    getSheetByName: (name) => sheets.find((s) => s.getName() === name) || null,
    getName: () => book.name.replace(/\.xlsx$/, ""),
    getActiveSheet: () => sheets[book.active_sheet_index],
    getActiveRange: () => ({ getA1Notation: () => book.selection }),
    getNamedRanges: () => [],
    getSpreadsheetTimeZone: () => job.spreadsheet_time_zone,
  };
  Object.assign(context, {
    SpreadsheetApp: { getActive: () => spreadsheet, getActiveSpreadsheet: () => spreadsheet, flush: () => {} },
    Session: {
      getActiveUser: () => ({ getEmail: () => "" }),
      getScriptTimeZone: () => job.script_time_zone,
    },
    UrlFetchApp: {
      fetch: (url, options) => {
        requests.push({ url, method: options.method, headers: { ...options.headers }, body: options.payload });
        return { getResponseCode: () => 200, getContentText: () => '{"actions": []}' };
      },
    },
    Utilities: {},
  });
  vm.runInContext(js, context, { filename: job.client_path });
  vm.runInContext("hello()", context);
  return requests;
}

// ---------------------------------------------------------------------------------------
// Office.js add-in (xlwings-server: static/js/custom-scripts/index.js and
// static/js/custom-functions/custom-functions-code.js), one shared runtime as in Excel
// ---------------------------------------------------------------------------------------
const ERROR_TYPES = {
  "#DIV/0!": "Div0", "#N/A": "NotAvailable", "#NAME?": "Name", "#NULL!": "Null", "#NUM!": "Num",
  "#REF!": "Ref", "#VALUE!": "Value", "#SPILL!": "Spill", "#CALC!": "Calc", "#GETTING_DATA": "GettingData",
  "#BUSY!": "Busy", "#CONNECT!": "Connect", "#BLOCKED!": "Blocked", "#FIELD!": "Field", "#UNKNOWN!": "Unknown",
};

async function runOfficeJs() {
  const requests = [];
  const consoleErrors = [];
  const sheetByName = Object.fromEntries(book.sheets.map((s) => [s.name, s]));

  // --- fake Excel JavaScript API (load() and sync() are no-ops; values are there at once)
  const loadable = (obj) => Object.assign(obj, { load() { return obj; } });
  const sheetObjs = book.sheets.map((s, position) =>
    loadable({
      name: s.name,
      position,
      names: loadable({ items: [] }),
      tables: loadable({ items: [] }),
      shapes: loadable({ items: [] }),
      getUsedRange: () => ({
        getLastCell: () => loadable({ address: `${quoteSheet(s.name)}!${cellAddress(s.n_rows - 1, s.n_cols - 1)}` }),
      }),
      getRange: (address) => {
        const { r0, c0, nr, nc } = parseRange(address);
        return loadable({
          address: `${quoteSheet(s.name)}!${address.split("!").pop()}`,
          // Range.values: like Office Scripts getValues (dates as serial numbers, "" for blanks,
          // error text for errors); numberFormatCategories decides which are dates
          values: block(s.excel_values, r0, c0, nr, nc, ""),
          numberFormatCategories: block(s.categories, r0, c0, nr, nc, "General"),
        });
      },
    }),
  );
  const activeSheet = sheetObjs[book.active_sheet_index];
  const workbook = loadable({
    name: book.name,
    worksheets: loadable({
      items: sheetObjs,
      getItemOrNullObject: (name) => sheetObjs.find((s) => s.name === name) || { isNullObject: true },
      getActiveWorksheet: () => activeSheet,
      onCalculated: { add: () => {} },
    }),
    getSelectedRange: () => loadable({ address: `${quoteSheet(activeSheet.name)}!${book.selection}` }),
    names: loadable({ items: [] }),
  });
  const makeContext = () => ({
    workbook,
    application: {
      cultureInfo: loadable({
        name: job.culture_info_name,
        datetimeFormat: loadable({ shortDatePattern: job.short_date_pattern }),
      }),
    },
    sync: async () => {},
  });
  const apiVersions = { ExcelApi: 1.17, CustomFunctionsRuntime: 1.4 };
  const Office = {
    onReady: (cb) => {
      const info = { host: "Excel", platform: "OfficeOnline" };
      if (cb) cb(info);
      return Promise.resolve(info);
    },
    context: {
      requirements: {
        isSetSupported: (name, version) => name in apiVersions && Number(version) <= apiVersions[name] + 1e-9,
      },
    },
  };
  const Excel = {
    run: async (batch) => batch(makeContext()),
    RequestContext: function () { return makeContext(); },
    ShapeType: { image: "Image" },
    ClearApplyTo: { all: "All", formats: "Formats", contents: "Contents" },
  };
  const associated = {};
  const CustomFunctions = {
    associate: (id, fn) => { associated[id] = fn; },
    Error: class { constructor(code, message) { this.code = code; this.message = message; } },
    ErrorCode: { invalidValue: "#VALUE!" },
  };

  // --- fake browser
  class FakeXMLHttpRequest {
    constructor() { this.headers = {}; }
    open(method, url) { this.method = method; this.url = url; }
    setRequestHeader(k, v) { this.headers[k] = v; }
    getResponseHeader(k) { return k.toLowerCase() === "content-type" ? "application/json" : null; }
    send(body) {
      requests.push({ url: this.url, method: this.method, headers: { ...this.headers }, body });
      const isFunctionCall = this.url.includes("custom-functions-call");
      setTimeout(() => {
        this.status = 200;
        this.statusText = "OK";
        this.responseText = isFunctionCall ? '{"result": [[""]]}' : '{"actions": []}';
        this.onload();
      }, 0);
    }
  }
  const storage = new Map(Object.entries(job.local_storage || {}));
  const elements = {
    config: { textContent: JSON.stringify(job.jsconfig) },
  };
  Object.assign(globalThis, {
    Office,
    Excel,
    CustomFunctions,
    XMLHttpRequest: FakeXMLHttpRequest,
    localStorage: { getItem: (k) => (storage.has(k) ? storage.get(k) : null), setItem: (k, v) => storage.set(k, String(v)) },
    window: { location: { origin: job.origin } },
    document: {
      getElementById: (id) => elements[id] || null,
      addEventListener: () => {},
      querySelector: () => null,
      querySelectorAll: () => [],
    },
  });
  Object.defineProperty(globalThis, "navigator", { value: { userAgent: "node" }, configurable: true });
  const realConsole = globalThis.console;
  globalThis.console = {
    ...realConsole,
    log: (...a) => log(...a),
    error: (...a) => { consoleErrors.push(a.map(String).join(" ")); log("console.error:", ...a); },
  };

  // (a) the script (book) payload: xlwings.runPython, as a task pane button or the ribbon calls it
  await import(pathToFileURL(join(job.static_js_dir, "custom-scripts", "index.js")).href);
  await globalThis.xlwings.runPython(job.script_call);
  if (consoleErrors.length) throw new Error(`runPython failed: ${consoleErrors.join("; ")}`);

  // (b) custom function calls: custom-functions-code.js as the /custom-functions-code route serves
  // it, run as a classic script in the same (shared) runtime
  vm.runInThisContext(job.custom_functions_code, { filename: "custom-functions-code.js" });
  const calls = [];
  for (const call of job.function_calls) {
    // What the Excel runtime hands a "matrix"/"any" parameter with allowCustomDataForDataTypeAny and
    // allowErrorForDataTypeAny (xlwings' functions.json): a 2-D array per argument; see make_payloads.py.
    const args = call.args.map((a) => {
      if (a === null) return null; // omitted optional argument
      if (a.literal !== undefined) return [[a.literal]];
      const s = sheetByName[a.sheet];
      const { r0, c0, nr, nc } = parseRange(a.range);
      const overrides = a.overrides || {};
      return block(s.excel_values, r0, c0, nr, nc, "").map((row, i) =>
        row.map((v, j) => {
          const key = cellAddress(r0 + i, c0 + j);
          let isError = s.errors.some(([er, ec]) => er === r0 + i && ec === c0 + j);
          if (key in overrides) {
            v = overrides[key];
            isError = typeof v === "string" && v in ERROR_TYPES;
          }
          if (isError) return { type: "Error", basicType: "Error", basicValue: v, errorType: ERROR_TYPES[v] };
          if (v === "") return null; // blank cell in a range argument
          return v; // numbers (dates as serial numbers), strings, booleans
        }),
      );
    });
    const before = requests.length;
    const invocation = { address: call.caller, setResult: () => {} };
    await associated[call.func_id](...args, invocation);
    if (requests.length !== before + 1) throw new Error(`${call.func_id}: no request sent (${consoleErrors.join("; ")})`);
    calls.push({ formula: call.formula, request: requests[requests.length - 1] });
  }
  if (consoleErrors.length) throw new Error(`custom functions failed: ${consoleErrors.join("; ")}`);
  return { script: requests[0], calls };
}

const modes = { "office-scripts": runOfficeScripts, "google-sheets": runGoogleSheets, "officejs": runOfficeJs };
const result = await modes[job.mode]();
writeFileSync(job.out, JSON.stringify(result));

(module $jit-module-1
  (type (;0;) (func (param i64) (result i64)))
  (type (;1;) (func (param i32 i64) (result i64)))
  (type (;2;) (func (param i64 i64) (result i64)))
  (type (;3;) (func (param i32 i64 i64) (result i64)))
  (type (;4;) (func (param i64 i64 i64) (result i64)))
  (type (;5;) (func (param i32 i64 i64 i64) (result i64)))
  (type (;6;) (func (param i64 i64 i64 i64) (result i64)))
  (type (;7;) (func (param i32 i64 i64 i64 i64) (result i64)))
  (type (;8;) (func (param i64 i64 i64 i64 i64) (result i64)))
  (type (;9;) (func (param i32 i64 i64 i64 i64 i64) (result i64)))
  (type (;10;) (func (param i64 i64 i64 i64 i64 i64) (result i64)))
  (type (;11;) (func (param i32 i64 i64 i64 i64 i64 i64) (result i64)))
  (type (;12;) (func (param i64 i64 i64 i64 i64 i64 i64) (result i64)))
  (type (;13;) (func (param i32 i64 i64 i64 i64 i64 i64 i64) (result i64)))
  (type (;14;) (func (param i64 i32) (result i64)))
  (type (;15;) (func (param i32 i32 i64 i64)))
  (type (;16;) (func (param i32 i64 i64) (result i32)))
  (type (;17;) (func (param f64) (result i64)))
  (type (;18;) (func (param i32 i32) (result i64)))
  (type (;19;) (func (param i32 i64 i32)))
  (type (;20;) (func (param i32 i32 i32) (result i64)))
  (type (;21;) (func (param i32)))
  (type (;22;) (func (param i32) (result i64)))
  (type (;23;) (func (result i32)))
  (type (;24;) (func))
  (import "env" "memory" (memory (;0;) 0))
  (import "env" "__indirect_function_table" (table (;0;) 0 funcref))
  (global $table_base (;0;) (mut i32) i32.const 0)
  (export "patch" (func $patch))
  (export "grow_table" (func $grow_table))
  (export "use_slots" (func $use_slots))
  (export "fill_table" (func $fill_table))
  (export "apply_reloc" (func $apply_reloc))
  (export "table_base" (global $table_base))
  (export "fib" (func $fib))
  (elem (;0;) func $fib)
  (func $fib (;0;) (type 2) (param $closure i64) (param $n i64) (result i64)
    (local $fp i32) (local $tmp i32) (local i64 i64 i64 i64 f64) (local $result i64)
    i32.const <addr>
    i32.load
    local.tee $fp
    i32.const 48
    i32.add
    local.tee $tmp
    i32.const <addr>
    i32.gt_u
    if ;; label = @1
      i32.const <addr>
      i32.const 3
      i64.const 0
      i64.const 0
      call $rt_fail.trampoline
      unreachable
    end
    i32.const <addr>
    local.get $tmp
    i32.store
    i32.const <addr>
    i32.load
    if ;; label = @1
      i32.const <addr>
      call $rt_break_entry.trampoline
    end
    i32.const <addr>
    i32.const <addr>
    i64.load offset=24
    i64.const 1
    i64.add
    i64.store offset=24
    local.get $n
    i32.wrap_i64
    i32.const 1
    i32.and
    if (result i32) ;; label = @1
      i32.const <addr>
      local.get $n
      i64.const 4
      call $rt_compare.trampoline
    else
      local.get $n
      i64.const 4
      i64.lt_s
    end
    if (result i64) ;; label = @1
      local.get $n
    else
      local.get $n
      i32.wrap_i64
      i32.const 1
      i32.and
      if ;; label = @2
        local.get $fp
        local.get $n
        i64.store
        i32.const <addr>
        local.get $n
        i64.const 2
        call $rt_arith.trampoline
        local.set 4
      else
        local.get $n
        i64.const 2
        i64.sub
        local.set 4
        local.get 4
        local.get $n
        i64.gt_s
        if ;; label = @3
          i32.const <addr>
          i32.const 0
          local.get $n
          i64.const 2
          call $rt_fail.trampoline
          unreachable
        end
      end
      local.get 4
      local.set 4
      local.get $fp
      local.get $n
      i64.store
      i32.const <addr>
      i32.load offset=8
      i32.const <addr>
      i32.eq
      if (result i64) ;; label = @2
        i64.const 0
        local.set 5
        local.get 5
        local.get 4
        call $fib
        local.tee 6
        i64.const 43
        i64.eq
        if (result i64) ;; label = @3
          i32.const <addr>
          call $rt_finish_tail.trampoline
        else
          local.get 6
        end
      else
        i32.const <addr>
        call $rt_guard_failed.trampoline
        i32.const <addr>
        i64.load
        local.tee 5
        local.tee 6
        i64.const 35
        i64.eq
        if ;; label = @3
          i32.const <addr>
          i32.const 1
          i64.const 0
          i64.const 0
          call $rt_fail.trampoline
          unreachable
        end
        local.get 6
        drop
        local.get 5
        i32.wrap_i64
        local.tee $tmp
        i32.const 7
        i32.and
        i32.const 1
        i32.eq
        if (result i32) ;; label = @3
          local.get $tmp
          i32.const 1
          i32.sub
          i32.load
          i32.const 2
          i32.eq
        else
          i32.const 0
        end
        if (result i32) ;; label = @3
          local.get $tmp
          i32.load offset=7
          local.tee $tmp
          i32.load offset=140
          i32.const 1
          i32.eq
          if (result i32) ;; label = @4
            local.get $tmp
            i32.load
          else
            i32.const 0
          end
        else
          i32.const 0
        end
        local.tee $tmp
        if (result i64) ;; label = @3
          local.get 5
          local.get 4
          local.get $tmp
          call_indirect (type 2)
          local.tee 6
          i64.const 43
          i64.eq
          if (result i64) ;; label = @4
            i32.const <addr>
            call $rt_finish_tail.trampoline
          else
            local.get 6
          end
        else
          i32.const <addr>
          local.get 5
          local.get 4
          call $rt_apply1.trampoline
        end
      end
      local.set 4
      local.get $n
      i32.wrap_i64
      i32.const 1
      i32.and
      if ;; label = @2
        local.get $fp
        local.get $n
        i64.store
        local.get $fp
        local.get 4
        i64.store offset=16
        i32.const <addr>
        local.get $n
        i64.const 4
        call $rt_arith.trampoline
        local.set 5
      else
        local.get $n
        i64.const 4
        i64.sub
        local.set 5
        local.get 5
        local.get $n
        i64.gt_s
        if ;; label = @3
          i32.const <addr>
          i32.const 0
          local.get $n
          i64.const 4
          call $rt_fail.trampoline
          unreachable
        end
      end
      local.get 5
      local.set 5
      local.get $fp
      local.get $n
      i64.store
      local.get $fp
      local.get 4
      i64.store offset=16
      i32.const <addr>
      i32.load offset=8
      i32.const <addr>
      i32.eq
      if (result i64) ;; label = @2
        i64.const 0
        local.set 6
        local.get 6
        local.get 5
        call $fib
        local.tee 7
        i64.const 43
        i64.eq
        if (result i64) ;; label = @3
          i32.const <addr>
          call $rt_finish_tail.trampoline
        else
          local.get 7
        end
      else
        i32.const <addr>
        call $rt_guard_failed.trampoline
        i32.const <addr>
        i64.load
        local.tee 6
        local.tee 7
        i64.const 35
        i64.eq
        if ;; label = @3
          i32.const <addr>
          i32.const 1
          i64.const 0
          i64.const 0
          call $rt_fail.trampoline
          unreachable
        end
        local.get 7
        drop
        local.get 6
        i32.wrap_i64
        local.tee $tmp
        i32.const 7
        i32.and
        i32.const 1
        i32.eq
        if (result i32) ;; label = @3
          local.get $tmp
          i32.const 1
          i32.sub
          i32.load
          i32.const 2
          i32.eq
        else
          i32.const 0
        end
        if (result i32) ;; label = @3
          local.get $tmp
          i32.load offset=7
          local.tee $tmp
          i32.load offset=140
          i32.const 1
          i32.eq
          if (result i32) ;; label = @4
            local.get $tmp
            i32.load
          else
            i32.const 0
          end
        else
          i32.const 0
        end
        local.tee $tmp
        if (result i64) ;; label = @3
          local.get 6
          local.get 5
          local.get $tmp
          call_indirect (type 2)
          local.tee 7
          i64.const 43
          i64.eq
          if (result i64) ;; label = @4
            i32.const <addr>
            call $rt_finish_tail.trampoline
          else
            local.get 7
          end
        else
          i32.const <addr>
          local.get 6
          local.get 5
          call $rt_apply1.trampoline
        end
      end
      local.set 5
      local.get 4
      local.get 5
      i64.or
      i32.wrap_i64
      i32.const 1
      i32.and
      if ;; label = @2
        local.get 4
        i32.wrap_i64
        local.tee $tmp
        i32.const 7
        i32.and
        i32.const 1
        i32.eq
        if (result i32) ;; label = @3
          local.get $tmp
          i32.const 1
          i32.sub
          i32.load
          i32.const 7
          i32.eq
        else
          i32.const 0
        end
        local.get 5
        i32.wrap_i64
        local.tee $tmp
        i32.const 7
        i32.and
        i32.const 1
        i32.eq
        if (result i32) ;; label = @3
          local.get $tmp
          i32.const 1
          i32.sub
          i32.load
          i32.const 7
          i32.eq
        else
          i32.const 0
        end
        i32.and
        if ;; label = @3
          local.get 4
          i32.wrap_i64
          f64.load offset=7
          local.get 5
          i32.wrap_i64
          f64.load offset=7
          f64.add
          local.set 8
          i32.const <addr>
          i64.load
          i64.const 16
          i64.add
          local.tee 7
          i32.const <addr>
          i64.load
          i64.le_u
          i32.const <addr>
          i32.load
          local.tee $tmp
          i32.const 0
          i32.ne
          i32.and
          if ;; label = @4
            i32.const <addr>
            local.get $tmp
            i32.load offset=8
            i32.store
            i32.const <addr>
            local.get 7
            i64.store
            i32.const <addr>
            i32.const <addr>
            i64.load
            i64.const 16
            i64.add
            i64.store
            local.get $tmp
            i64.const 8589934599
            i64.store
            local.get $tmp
            local.get 8
            f64.store offset=8
            local.get $tmp
            i64.extend_i32_u
            i64.const 1
            i64.or
            local.set 6
          else
            local.get $fp
            local.get $n
            i64.store
            local.get 8
            call $rt_box_flonum.trampoline
            local.set 6
          end
        else
          local.get $fp
          local.get $n
          i64.store
          i32.const <addr>
          local.get 4
          local.get 5
          call $rt_arith.trampoline
          local.set 6
        end
      else
        local.get 4
        local.get 5
        i64.add
        local.set 6
        local.get 4
        local.get 6
        i64.xor
        local.get 5
        local.get 6
        i64.xor
        i64.and
        i64.const 0
        i64.lt_s
        if ;; label = @3
          i32.const <addr>
          i32.const 0
          local.get 4
          local.get 5
          call $rt_fail.trampoline
          unreachable
        end
      end
      local.get 6
    end
    local.set $result
    i32.const <addr>
    local.get $fp
    i32.store
    local.get $result
  )
  (func $rt_break_entry.trampoline (;1;) (type 21) (param i32)
    local.get 0
    i32.const <slot>
    call_indirect (type 21)
  )
  (func $rt_compare.trampoline (;2;) (type 16) (param i32 i64 i64) (result i32)
    local.get 0
    local.get 1
    local.get 2
    i32.const <slot>
    call_indirect (type 16)
  )
  (func $rt_arith.trampoline (;3;) (type 3) (param i32 i64 i64) (result i64)
    local.get 0
    local.get 1
    local.get 2
    i32.const <slot>
    call_indirect (type 3)
  )
  (func $rt_fail.trampoline (;4;) (type 15) (param i32 i32 i64 i64)
    local.get 0
    local.get 1
    local.get 2
    local.get 3
    i32.const <slot>
    call_indirect (type 15)
  )
  (func $rt_finish_tail.trampoline (;5;) (type 22) (param i32) (result i64)
    local.get 0
    i32.const <slot>
    call_indirect (type 22)
  )
  (func $rt_guard_failed.trampoline (;6;) (type 21) (param i32)
    local.get 0
    i32.const <slot>
    call_indirect (type 21)
  )
  (func $rt_apply1.trampoline (;7;) (type 3) (param i32 i64 i64) (result i64)
    local.get 0
    local.get 1
    local.get 2
    i32.const <slot>
    call_indirect (type 3)
  )
  (func $rt_box_flonum.trampoline (;8;) (type 17) (param f64) (result i64)
    local.get 0
    i32.const <slot>
    call_indirect (type 17)
  )
  (func $grow_table (;9;) (type 23) (result i32)
    (local i32)
    ref.null func
    i32.const 1
    table.grow 0
    local.tee 0
    i32.const -1
    i32.eq
    if ;; label = @1
      unreachable
    end
    local.get 0
    global.set $table_base
    local.get 0
  )
  (func $use_slots (;10;) (type 21) (param $base i32)
    local.get $base
    global.set $table_base
  )
  (func $fill_table (;11;) (type 24)
    global.get $table_base
    i32.const 0
    i32.const 1
    table.init 0
  )
  (func $apply_reloc (;12;) (type 21) (param $k i32)
    block ;; label = @1
      block ;; label = @2
        local.get $k
        br_table 0 (;@2;) 1 (;@1;)
      end
      i32.const <addr>
      global.get $table_base
      i32.const 0
      i32.add
      i32.store
      return
    end
    unreachable
  )
  (func $patch (;13;) (type 24)
    call $grow_table
    drop
    call $fill_table
    i32.const 0
    call $apply_reloc
  )
  (@custom "jitscope.patches" (after code) "<patches>")
  (@custom "jitscope.srcmap" (after code) "<srcmap>")
)
